"use client";
import { Suspense } from "react";
import { LoginForm } from "@/components/auth/login-form";

/** Sign in with email and password. */
export default function LoginPage() {
  return (
    <Suspense>
      <LoginForm />
    </Suspense>
  );
}
