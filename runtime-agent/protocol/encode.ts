// Builders for outgoing frames, typed by the method table so a sender cannot put the wrong params on the wire.
import type { ErrorCode, FrameId } from "./envelope.ts";
import type {
  NotificationMethod,
  NotificationParamsInput,
  RequestMethod,
  RequestParamsInput,
  RequestResult,
} from "./methods.ts";

/** Serialises a request frame. */
export function encodeRequest<M extends RequestMethod>(id: FrameId, method: M, params: RequestParamsInput<M>): string {
  return JSON.stringify({ id, method, params });
}

/** Serialises a notification frame. */
export function encodeNotification<M extends NotificationMethod>(
  method: M,
  params: NotificationParamsInput<M>,
): string {
  return JSON.stringify({ method, params });
}

/** Serialises a successful response to a request of `method`. */
export function encodeResult<M extends RequestMethod>(id: FrameId, _method: M, result: RequestResult<M>): string {
  return JSON.stringify({ id, result });
}

/** Serialises an error response; `id` is null when the failed frame's id was unreadable. */
export function encodeError(id: FrameId | null, code: ErrorCode, message: string): string {
  return JSON.stringify({ id, error: { code, message: message.slice(0, 4096) } });
}
