"use client";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { ShieldCheck } from "lucide-react";
import { AuthCard } from "@/components/auth-card";
import { Button } from "@/components/ui/button";
import { FormError } from "@/components/ui/error-state";
import { Field, fieldIds } from "@/components/ui/label";
import { Input } from "@/components/ui/input";
import { useSession, useSignup } from "@/lib/queries";
import { emailProblem, safeNext } from "@/lib/validation";

const MIN_PASSWORD = 10;

/** The sign-up form; the first account on an instance becomes its admin. Goes on to `?next=` once signed up. Reads the search params: render it inside <Suspense>. */
export function SignupForm() {
  const params = useSearchParams();
  const next = safeNext(params.get("next"));
  const router = useRouter();
  const session = useSession();
  const signup = useSignup();
  const [name, setName] = useState("");
  const [email, setEmail] = useState(params.get("email") ?? "");
  const [password, setPassword] = useState("");
  const [submitted, setSubmitted] = useState(false);

  useEffect(() => {
    if (session.data) router.replace(next);
  }, [session.data, next, router]);

  const emailError = submitted ? emailProblem(email) : null;
  const passwordError = submitted && password.length < MIN_PASSWORD ? `Use at least ${MIN_PASSWORD} characters.` : null;

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (emailProblem(email) || password.length < MIN_PASSWORD) return;
    signup.mutate({ email: email.trim(), password, ...(name.trim() ? { name: name.trim() } : {}) });
  };

  const loginHref = `/login${params.get("next") ? `?next=${encodeURIComponent(next)}` : ""}`;
  return (
    <AuthCard
      title="Create your account"
      description="You get a personal team to start deploying right away."
      footer={
        <>
          Already have an account?{" "}
          <Link href={loginHref} className="font-medium text-zinc-900 underline-offset-4 hover:underline">
            Sign in
          </Link>
        </>
      }
    >
      <title>Create your account · Berth</title>
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <Field
          id="name"
          label={
            <>
              Name <span className="font-normal text-zinc-400">(optional)</span>
            </>
          }
        >
          <Input
            id="name"
            autoComplete="name"
            autoFocus
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={100}
          />
        </Field>
        <Field id="email" label="Email" error={emailError}>
          <Input
            id="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            invalid={Boolean(emailError)}
            aria-describedby={fieldIds("email", Boolean(emailError), false)}
          />
        </Field>
        <Field
          id="password"
          label="Password"
          error={passwordError}
          hint={passwordError ? undefined : `At least ${MIN_PASSWORD} characters. A passphrase works well.`}
        >
          <Input
            id="password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            invalid={Boolean(passwordError)}
            aria-describedby={fieldIds("password", Boolean(passwordError), !passwordError)}
          />
        </Field>
        <div className="flex gap-2.5 rounded-md border border-zinc-200 bg-zinc-50 px-3 py-2.5 text-[13px] text-zinc-600">
          <ShieldCheck aria-hidden className="mt-0.5 size-4 shrink-0 text-zinc-500" />
          <p>
            The first account created on a new Berth instance becomes its{" "}
            <strong className="font-medium text-zinc-900">instance admin</strong>.
          </p>
        </div>
        <FormError error={signup.error} />
        <Button type="submit" className="w-full" loading={signup.isPending || signup.isSuccess}>
          Create account
        </Button>
      </form>
    </AuthCard>
  );
}
