// A small client for the REST API under /api/v1: bearer token or session cookie, errors as one sentence.
import { ApiError, CliError } from "./errors.ts";
import { clean } from "./output.ts";

const REQUEST_TIMEOUT_MS = 60_000;

/** How requests authenticate; a cookie session also needs its CSRF token for mutations. */
export interface Credentials {
  token?: string;
  cookie?: string;
  csrf?: string | null;
}

/** A parsed API answer. */
export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Per-request options. */
export interface RequestOptions {
  /** How long to wait for the answer; default 60 s (deploys copy whole images and take longer). */
  timeoutMs?: number;
}

export interface ClientOptions {
  /** Appended to 401 messages, e.g. "run `berth login`"; null for the sign-in request itself. */
  unauthorizedHint?: string | null;
}

/** Client bound to one Berth URL and one set of credentials. */
export class BerthApi {
  constructor(
    readonly url: string,
    private readonly creds: Credentials = {},
    private readonly opts: ClientOptions = {},
  ) {}

  /** Sends a request to /api/v1 + `path`; throws ApiError/CliError unless the status is 2xx. */
  async request<T = unknown>(method: string, path: string, body?: unknown, reqOpts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const timeoutMs = reqOpts.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "berth-cli" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.creds.token) headers.authorization = `Bearer ${this.creds.token}`;
    if (this.creds.cookie) headers.cookie = this.creds.cookie;
    if (this.creds.csrf && method !== "GET") headers["x-csrf-token"] = this.creds.csrf;
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // A redirect would carry the token to wherever it points; the API never redirects, so report it instead.
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new CliError(`cannot reach Berth at ${this.url}: ${describeNetworkError(err, timeoutMs)}`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text && (res.headers.get("content-type") ?? "").includes("json")) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (res.status >= 300 && res.status < 400) {
      const to = res.headers.get("location") ?? "elsewhere";
      throw new CliError(`Berth at ${this.url} redirected to ${clean(to)}; set BERTH_URL to the right address`);
    }
    if (!res.ok) throw this.toError(res.status, parsed);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** GET request. */
  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>("GET", path);
  }

  /** POST request with a JSON body. */
  post<T>(path: string, body?: unknown, reqOpts?: RequestOptions): Promise<ApiResponse<T>> {
    return this.request<T>("POST", path, body, reqOpts);
  }

  /** PATCH request with a JSON body. */
  patch<T>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.request<T>("PATCH", path, body);
  }

  /** PUT request with a JSON body. */
  put<T>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.request<T>("PUT", path, body);
  }

  /** DELETE request. */
  delete<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>("DELETE", path);
  }

  private toError(status: number, body: unknown): ApiError {
    const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof err?.code === "string" ? err.code : `http_${status}`;
    let message = typeof err?.message === "string" ? clean(err.message) : `Berth answered HTTP ${status}`;
    const hint = this.opts.unauthorizedHint === undefined ? "run `berth login`" : this.opts.unauthorizedHint;
    if (status === 401 && hint) message = `${message}; ${hint}`;
    return new ApiError(message, status, code);
  }
}

/** Why fetch failed, in a few words (undici hides the system error in `cause`). */
function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  switch (e.cause?.code) {
    case "ECONNREFUSED":
      return "connection refused (is it running, and is BERTH_URL right?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ECONNRESET":
      return "connection reset";
    case "ETIMEDOUT":
      return "connection timed out";
    default:
      return clean(e.cause?.message ?? e.message ?? "unknown network error");
  }
}

/** Path segment escaping, so names can never change which route is called. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
