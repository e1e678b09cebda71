// parseFrame: the one door for incoming frames. It never throws; every failure becomes a typed error that the
// caller can send back (for requests) or log and drop (for everything else).
import type { z } from "zod";
import {
  ErrorEnvelope,
  type FrameError,
  type FrameId,
  FrameId as FrameIdSchema,
  MAX_FRAME_BYTES,
  NotificationEnvelope,
  RequestEnvelope,
  ResultEnvelope,
} from "./envelope.ts";
import {
  type NotificationMethod,
  type NotificationParams,
  notifications,
  type RequestMethod,
  type RequestParams,
  requests,
} from "./methods.ts";

/** A parsed request whose params passed its method's schema. */
export type RequestFrame = {
  [M in RequestMethod]: { kind: "request"; id: FrameId; method: M; params: RequestParams<M> };
}[RequestMethod];

/** A parsed notification whose params passed its method's schema. */
export type NotificationFrame = {
  [M in NotificationMethod]: { kind: "notification"; method: M; params: NotificationParams<M> };
}[NotificationMethod];

/** A response; its result is checked against the pending request's method with `parseResult`. */
export type ResponseFrame =
  { kind: "result"; id: FrameId; result: unknown } | { kind: "error"; id: FrameId | null; error: FrameError };

export type Frame = RequestFrame | NotificationFrame | ResponseFrame;

/** Outcome of parseFrame; `id` is set on failure when the frame was a request whose id could be read. */
export type ParseOutcome = { ok: true; frame: Frame } | { ok: false; id: FrameId | null; error: FrameError };

type Raw = string | Buffer | ArrayBuffer | Buffer[];

function fail(code: FrameError["code"], message: string, id: FrameId | null = null): ParseOutcome {
  return { ok: false, id, error: { code, message: message.slice(0, 1024) } };
}

/** Summarises zod issues in one short line (paths and messages, never the offending values). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}

function toText(raw: Raw): string | null {
  if (typeof raw === "string") return Buffer.byteLength(raw) > MAX_FRAME_BYTES ? null : raw;
  const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  return buf.length > MAX_FRAME_BYTES ? null : buf.toString("utf8");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseRequest(obj: Record<string, unknown>): ParseOutcome {
  const env = RequestEnvelope.safeParse(obj);
  const readableId = FrameIdSchema.safeParse(obj.id);
  const id = readableId.success ? readableId.data : null;
  if (!env.success) return fail("invalid_frame", describeIssues(env.error), id);
  const { method } = env.data;
  if (!Object.hasOwn(requests, method)) return fail("unknown_method", `unknown method ${method}`, env.data.id);
  const schema = requests[method as RequestMethod].params;
  const params = schema.safeParse(env.data.params);
  if (!params.success) return fail("invalid_params", describeIssues(params.error), env.data.id);
  const frame = { kind: "request", id: env.data.id, method, params: params.data } as RequestFrame;
  return { ok: true, frame };
}

function parseNotification(obj: Record<string, unknown>): ParseOutcome {
  const env = NotificationEnvelope.safeParse(obj);
  if (!env.success) return fail("invalid_frame", describeIssues(env.error));
  const { method } = env.data;
  if (!Object.hasOwn(notifications, method)) return fail("unknown_method", `unknown notification ${method}`);
  const params = notifications[method as NotificationMethod].safeParse(env.data.params);
  if (!params.success) return fail("invalid_params", describeIssues(params.error));
  return { ok: true, frame: { kind: "notification", method, params: params.data } as NotificationFrame };
}

/** Parses one incoming frame (text or binary) into a typed request, notification or response. Never throws. */
export function parseFrame(raw: Raw): ParseOutcome {
  try {
    const text = toText(raw);
    if (text === null) return fail("invalid_frame", `frame larger than ${MAX_FRAME_BYTES} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return fail("parse_error", "frame is not valid JSON");
    }
    if (!isPlainObject(value)) return fail("invalid_frame", "frame must be a JSON object");
    if ("method" in value) return "id" in value ? parseRequest(value) : parseNotification(value);
    if ("result" in value) {
      const env = ResultEnvelope.safeParse(value);
      if (!env.success) return fail("invalid_frame", describeIssues(env.error));
      return { ok: true, frame: { kind: "result", id: env.data.id, result: env.data.result } };
    }
    if ("error" in value) {
      const env = ErrorEnvelope.safeParse(value);
      if (!env.success) return fail("invalid_frame", describeIssues(env.error));
      return { ok: true, frame: { kind: "error", id: env.data.id, error: env.data.error } };
    }
    return fail("invalid_frame", "frame has neither method, result nor error");
  } catch (err) {
    // Defensive: a schema refinement or a getter should never throw, but this function must not.
    return fail("internal", err instanceof Error ? err.message : "unexpected parse failure");
  }
}

/** Checks a response's result against the schema of the request method it answers. */
export function parseResult<M extends RequestMethod>(
  method: M,
  result: unknown,
): { ok: true; value: z.infer<(typeof requests)[M]["result"]> } | { ok: false; error: FrameError } {
  const parsed = requests[method].result.safeParse(result);
  if (parsed.success) return { ok: true, value: parsed.data as z.infer<(typeof requests)[M]["result"]> };
  return { ok: false, error: { code: "invalid_frame", message: describeIssues(parsed.error) } };
}
