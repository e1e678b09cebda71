// A small client for the REST API under /api/v1: bearer token or session cookie, errors as one sentence.
// It speaks HTTP through node:http(s), not fetch: Node 20 compiles its whole fetch implementation (undici) on the
// first call, about a third of what a short command like `berth whoami` costs in CPU.
import type { IncomingHttpHeaders } from "node:http";
import { ApiError, CliError } from "./errors.ts";
import { clean } from "./output.ts";

const REQUEST_TIMEOUT_MS = 60_000;

/** How requests authenticate; a cookie session also needs its CSRF token for mutations. */
export interface Credentials {
  token?: string;
  cookie?: string;
  csrf?: string | null;
}

/** Response headers, read like fetch's. */
export class ResponseHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  /** The header's value (several joined with ", "), or null. */
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(", ") : v;
  }

  /** Every Set-Cookie header, one string each. */
  getSetCookie(): string[] {
    return this.raw["set-cookie"] ?? [];
  }
}

/** A parsed API answer. */
export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: ResponseHeaders;
}

interface RawResponse {
  status: number;
  headers: ResponseHeaders;
  text: string;
}

/** One HTTP request with its whole answer; rejects on network errors and when `timeoutMs` passes. */
async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<RawResponse> {
  // https (and TLS) are loaded only for https URLs.
  const mod = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise<RawResponse>((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: new ResponseHeaders(res.headers),
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
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
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    reqOpts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const timeoutMs = reqOpts.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "berth-cli" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.creds.token) headers.authorization = `Bearer ${this.creds.token}`;
    if (this.creds.cookie) headers.cookie = this.creds.cookie;
    if (this.creds.csrf && method !== "GET") headers["x-csrf-token"] = this.creds.csrf;
    let res: RawResponse;
    try {
      // node:http never follows redirects: one would carry the token to wherever it points (reported below).
      res = await send(
        new URL(`${this.url}/api/v1${path}`),
        method,
        headers,
        body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
      );
    } catch (err) {
      throw new CliError(`cannot reach Berth at ${this.url}: ${describeNetworkError(err, timeoutMs)}`);
    }
    const text = res.text;
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
    if (res.status < 200 || res.status > 299) throw this.toError(res.status, parsed);
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

  /**
   * GET that streams a 2xx answer into `dest` (e.g. a backup file) instead of buffering it; other answers throw like
   * request(). Resolves with the bytes written and the file name the server suggests (Content-Disposition).
   */
  async download(
    path: string,
    dest: NodeJS.WritableStream,
    timeoutMs = 60 * 60_000,
  ): Promise<{ bytes: number; fileName: string | null }> {
    const url = new URL(`${this.url}/api/v1${path}`);
    const headers: Record<string, string> = {
      accept: "application/octet-stream, application/json",
      "user-agent": "berth-cli",
    };
    if (this.creds.token) headers.authorization = `Bearer ${this.creds.token}`;
    if (this.creds.cookie) headers.cookie = this.creds.cookie;
    const mod = url.protocol === "https:" ? await import("node:https") : await import("node:http");
    const { pipeline } = await import("node:stream/promises");
    const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { method: "GET", headers, signal: AbortSignal.timeout(timeoutMs) }, resolve);
      req.on("error", (err) =>
        reject(new CliError(`cannot reach Berth at ${this.url}: ${describeNetworkError(err, timeoutMs)}`)),
      );
      req.end();
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        parsed = undefined;
      }
      throw this.toError(status, parsed);
    }
    let bytes = 0;
    res.on("data", (c: Buffer) => (bytes += c.length));
    await pipeline(res, dest);
    const m = /filename="([A-Za-z0-9._-]+)"/.exec(new ResponseHeaders(res.headers).get("content-disposition") ?? "");
    return { bytes, fileName: m?.[1] ?? null };
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

/** Why a request failed, in a few words (the system error's code; fetch-style errors keep it in `cause`). */
function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  switch (e.code ?? e.cause?.code) {
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
      return clean(e.message ?? e.cause?.message ?? "unknown network error");
  }
}

/** Path segment escaping, so names can never change which route is called. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
