// Compile-time proof that a response schema and its shared wire type (shared/api-types.ts) describe the same JSON,
// so the dashboard and the CLI, which see only the shared types, cannot drift from what the server sends.
import type { z } from "@hono/zod-openapi";

type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * True when `T` and what `S` outputs have the same top-level keys and each is assignable to the other (nested
 * objects: assignable both ways). Use as `Wire<Describes<Type, typeof Schema>>`: a mismatch reads
 * "Type 'false' does not satisfy the constraint 'true'".
 */
export type Describes<T, S extends z.ZodType> =
  Mutual<T, z.output<S>> extends true ? Mutual<keyof T, keyof z.output<S>> : false;

/** Fails to compile unless its argument is `true`. */
export type Wire<T extends true> = T;
