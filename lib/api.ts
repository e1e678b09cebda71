// The one place the dashboard talks HTTP: JSON in and out, the CSRF header on mutations, typed errors.
const BASE = "/api/v1";

/** An error answered by the API ({"error":{"code","message"}}) or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

let csrfToken: string | null = null;

/** Remembers the CSRF token from a login/signup/session response (null after sign-out). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

async function ensureCsrfToken(): Promise<void> {
  if (csrfToken) return;
  // A reload loses the in-memory token; the session endpoint hands it out again (401 when signed out is fine).
  try {
    const res = await fetch(`${BASE}/session`, { credentials: "same-origin", headers: { accept: "application/json" } });
    if (res.ok) {
      const body = (await res.json()) as { csrfToken?: string | null };
      csrfToken = body.csrfToken ?? null;
    }
  } catch {
    // The real request below reports the network problem.
  }
}

async function parseError(res: Response): Promise<ApiError> {
  let code = "http_error";
  let message = `${res.status} ${res.statusText || "request failed"}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not JSON (a proxy error page, say): keep the status line.
  }
  return new ApiError(res.status, code, message);
}

/** Calls the API; resolves to the parsed JSON body (undefined for 204) or rejects with ApiError. */
export async function api<T>(
  path: string,
  opts: { method?: Method; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") {
    await ensureCsrfToken();
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
  }
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      credentials: "same-origin",
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "Could not reach the Berth server. Check your connection and try again.");
  }
  if (!res.ok) {
    const error = await parseError(res);
    // A stale token after a new sign-in elsewhere: forget it so the next mutation fetches a fresh one.
    if (error.code === "csrf_failed") csrfToken = null;
    throw error;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Encodes one path segment. */
export const seg = (s: string) => encodeURIComponent(s);

/** A message fit for the UI from anything thrown. */
export function errorMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : "";
  if (!raw) return "Something went wrong.";
  return raw.charAt(0).toUpperCase() + raw.slice(1);
}

/** True for an ApiError with the given status. */
export function isStatus(err: unknown, status: number): boolean {
  return err instanceof ApiError && err.status === status;
}
