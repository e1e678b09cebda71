// A small API client for tests: session cookie + CSRF header like the dashboard, or a bearer token like the CLI.

export interface Res<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  cookie = "";
  csrf = "";
  token = "";

  constructor(readonly base: string) {}

  /** Sends a request; JSON bodies are encoded, the response is parsed when it is JSON. */
  async req<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res<T>> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h["content-type"] ??= "application/json";
    if (this.token) h.authorization = `Bearer ${this.token}`;
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && method !== "GET") h["x-csrf-token"] = this.csrf;
    const res = await fetch(this.base + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) this.cookie = setCookie.split(";")[0] ?? "";
    const text = await res.text();
    let parsed: unknown = text;
    const type = res.headers.get("content-type") ?? "";
    // NDJSON streams (berth run) stay text: one JSON document per line.
    if (type.includes("json") && !type.includes("ndjson") && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Signs up (and keeps the session cookie and CSRF token). */
  async signUp(email: string, password = "correct-horse-battery"): Promise<Res<any>> {
    const r = await this.req("POST", "/api/v1/auth/signup", { email, password });
    if (r.status === 201) this.csrf = r.body.csrfToken;
    return r;
  }

  /** Signs in (and keeps the session cookie and CSRF token). */
  async login(email: string, password = "correct-horse-battery"): Promise<Res<any>> {
    const r = await this.req("POST", "/api/v1/auth/login", { email, password });
    if (r.status === 200) this.csrf = r.body.csrfToken;
    return r;
  }

  /** Creates an API token and returns a client that uses only that token. */
  async tokenClient(name = "test"): Promise<ApiClient> {
    const r = await this.req("POST", "/api/v1/tokens", { name });
    if (r.status !== 201) throw new Error(`token create failed: ${r.status} ${JSON.stringify(r.body)}`);
    const c = new ApiClient(this.base);
    c.token = r.body.token;
    return c;
  }
}
