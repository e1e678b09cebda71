// The wire envelope: `{id, method, params}` requests, `{id, result}` / `{id, error}` responses and id-less
// `{method, params}` notifications, one JSON object per WebSocket text frame.
import { z } from "zod";

/** Request ids: a non-negative integer or a short opaque string, unique per sender and connection. */
export const FrameId = z.union([z.int().min(0), z.string().min(1).max(64)]);
export type FrameId = z.infer<typeof FrameId>;

/** Method names: dotted lowercase words such as `node.register`. */
export const MethodName = z
  .string()
  .regex(/^[a-z][a-zA-Z]*(?:\.[a-z][a-zA-Z]*)*$/)
  .max(64);

/** Error codes carried in responses; the receiver maps them, never the message text. */
export const ErrorCode = z.enum([
  "parse_error",
  "invalid_frame",
  "unknown_method",
  "invalid_params",
  "conflict",
  "unavailable",
  "internal",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The error object of a failed response. */
export const FrameError = z.strictObject({
  code: ErrorCode,
  message: z.string().max(4096),
});
export type FrameError = z.infer<typeof FrameError>;

/** Envelope of a request (params are checked per method afterwards). */
export const RequestEnvelope = z.strictObject({ id: FrameId, method: MethodName, params: z.unknown() });
/** Envelope of a notification: a request without an id, never answered. */
export const NotificationEnvelope = z.strictObject({ method: MethodName, params: z.unknown() });
/** Envelope of a successful response. */
export const ResultEnvelope = z.strictObject({ id: FrameId, result: z.unknown() });
/** Envelope of a failed response; `id` is null when the request's id could not be read. */
export const ErrorEnvelope = z.strictObject({ id: FrameId.nullable(), error: FrameError });

/** Largest frame either side accepts (a full desired state of 1,000 instances fits comfortably). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
