"use client";
import { Suspense } from "react";
import { SignupForm } from "@/components/auth/signup-form";

/** Create an account; the first one on an instance becomes the admin. */
export default function SignupPage() {
  return (
    <Suspense>
      <SignupForm />
    </Suspense>
  );
}
