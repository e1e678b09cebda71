"use client";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { AuthCard } from "@/components/auth-card";
import { Button } from "@/components/ui/button";
import { FormError } from "@/components/ui/error-state";
import { Field, fieldIds } from "@/components/ui/label";
import { Input } from "@/components/ui/input";
import { useLogin, useSession } from "@/lib/queries";
import { emailProblem, safeNext } from "@/lib/validation";

/** The sign-in form (email and password); goes on to `?next=` once signed in. Reads the search params: render it inside <Suspense>. */
export function LoginForm() {
  const params = useSearchParams();
  const next = safeNext(params.get("next"));
  const router = useRouter();
  const session = useSession();
  const login = useLogin();
  const [email, setEmail] = useState(params.get("email") ?? "");
  const [password, setPassword] = useState("");
  const [submitted, setSubmitted] = useState(false);

  // Already signed in (or just signed in): go on.
  useEffect(() => {
    if (session.data) router.replace(next);
  }, [session.data, next, router]);

  const emailError = submitted ? emailProblem(email) : null;
  const passwordError = submitted && password.length === 0 ? "Enter your password." : null;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (emailProblem(email) || password.length === 0) return;
    login.mutate({ email: email.trim(), password });
  };

  const signupHref = `/signup${params.get("next") ? `?next=${encodeURIComponent(next)}` : ""}`;
  return (
    <AuthCard
      title="Sign in to Berth"
      description="Welcome back. Deploy, scale and watch your apps."
      footer={
        <>
          New here?{" "}
          <Link href={signupHref} className="font-medium text-zinc-900 underline-offset-4 hover:underline">
            Create an account
          </Link>
        </>
      }
    >
      <title>Sign in · Berth</title>
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <Field id="email" label="Email" error={emailError}>
          <Input
            id="email"
            type="email"
            autoComplete="email"
            autoFocus
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            invalid={Boolean(emailError)}
            aria-describedby={fieldIds("email", Boolean(emailError), false)}
          />
        </Field>
        <Field id="password" label="Password" error={passwordError}>
          <Input
            id="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            invalid={Boolean(passwordError)}
            aria-describedby={fieldIds("password", Boolean(passwordError), false)}
          />
        </Field>
        <FormError error={login.error} />
        <Button type="submit" className="w-full" loading={login.isPending || login.isSuccess}>
          Sign in
        </Button>
      </form>
    </AuthCard>
  );
}
