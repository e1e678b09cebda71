// Just enough of the PostgreSQL and Redis wire protocols for the control plane to ask a running add-on about itself
// (live.ts): a PostgreSQL startup with SCRAM-SHA-256 (the only method the add-on's pg_hba accepts) and simple
// queries; a Redis AUTH and commands. No dependency: a client library would be a lot of code for two queries. The
// password stays in this process: it is never logged, never in an error message, never on a command line.
import crypto from "node:crypto";
import net from "node:net";

/** A connection's bytes as they arrive, read message by message. */
class Reader {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on("error", (err) => this.fail(err));
    sock.on("close", () => this.fail(new Error("connection closed")));
  }

  private fail(err: Error) {
    this.failure ??= err;
    this.wake();
  }

  private wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves with exactly `n` bytes. */
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.waiter = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Resolves with one line (without CRLF). */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString("utf8");
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}

/** Connects with a deadline for the whole exchange; `fn` gets the socket and its reader. */
async function withConnection<T>(
  host: string,
  port: number,
  timeoutMs: number,
  fn: (sock: net.Socket, r: Reader) => Promise<T>,
): Promise<T> {
  const sock = net.connect({ host, port });
  const reader = new Reader(sock);
  let timer: NodeJS.Timeout | undefined;
  // The deadline covers the connect too (an address that drops packets would otherwise hang for minutes).
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const connected = new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    await Promise.race([connected, deadline]);
    return await Promise.race([fn(sock, reader), deadline]);
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

// ---- PostgreSQL ----

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`, "utf8");
const message = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);

async function pgMessage(r: Reader): Promise<{ type: string; body: Buffer }> {
  const head = await r.take(5);
  const len = head.readInt32BE(1);
  if (len < 4 || len > 16 * 1024 * 1024) throw new Error("bad PostgreSQL message length");
  return { type: String.fromCharCode(head[0] as number), body: await r.take(len - 4) };
}

/** The `M` field of an ErrorResponse (never the whole body: it could echo input). */
function pgError(body: Buffer): Error {
  for (const field of body.toString("utf8").split("\0"))
    if (field.startsWith("M")) return new Error(`PostgreSQL: ${field.slice(1)}`);
  return new Error("PostgreSQL error");
}

const hmac = (key: Buffer, data: string) => crypto.createHmac("sha256", key).update(data).digest();

/**
 * The SCRAM-SHA-256 client proof and the server signature expected for `serverFirst` (RFC 5802/7677). Pure; the
 * password is used as is (the generated ones are base64url, which SASLprep leaves unchanged).
 */
export function scramProof(password: string, clientFirstBare: string, serverFirst: string, clientFinalBare: string) {
  const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv.slice(0, 1), kv.slice(2)]));
  const salt = Buffer.from(attrs.s ?? "", "base64");
  const iterations = Number(attrs.i);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000)
    throw new Error("bad SCRAM iterations");
  const salted = crypto.pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = hmac(salted, "Client Key");
  const storedKey = crypto.createHash("sha256").update(clientKey).digest();
  const authMessage = `${clientFirstBare},${serverFirst},${clientFinalBare}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)));
  const serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
  return { proof: proof.toString("base64"), serverSignature: serverSignature.toString("base64") };
}

/** Logs in with SCRAM-SHA-256 and runs `sql` (one simple query); returns the first row's columns as text. */
export async function pgQueryRow(
  target: { host: string; port: number; user: string; password: string; database: string },
  sql: string,
  timeoutMs = 5_000,
): Promise<(string | null)[]> {
  return withConnection(target.host, target.port, timeoutMs, async (sock, r) => {
    const params = Buffer.concat([cstr("user"), cstr(target.user), cstr("database"), cstr(target.database), cstr("")]);
    const startup = Buffer.concat([int32(8 + params.length), int32(196_608), params]);
    sock.write(startup);
    const nonce = crypto.randomBytes(18).toString("base64");
    const clientFirstBare = `n=*,r=${nonce}`;
    let expected = "";
    for (;;) {
      const m = await pgMessage(r);
      if (m.type === "E") throw pgError(m.body);
      if (m.type === "Z") break;
      if (m.type !== "R") continue; // ParameterStatus, BackendKeyData, notices
      const code = m.body.readInt32BE(0);
      if (code === 0) continue;
      if (code === 10) {
        if (!m.body.subarray(4).toString("utf8").split("\0").includes("SCRAM-SHA-256"))
          throw new Error("no SCRAM-SHA-256");
        const data = Buffer.from(`n,,${clientFirstBare}`);
        sock.write(message("p", Buffer.concat([cstr("SCRAM-SHA-256"), int32(data.length), data])));
      } else if (code === 11) {
        const serverFirst = m.body.subarray(4).toString("utf8");
        if (!serverFirst.startsWith(`r=${nonce}`)) throw new Error("SCRAM nonce mismatch");
        const serverNonce = serverFirst.split(",")[0]?.slice(2) ?? "";
        const clientFinalBare = `c=biws,r=${serverNonce}`;
        const { proof, serverSignature } = scramProof(target.password, clientFirstBare, serverFirst, clientFinalBare);
        expected = serverSignature;
        sock.write(message("p", Buffer.from(`${clientFinalBare},p=${proof}`)));
      } else if (code === 12) {
        // The server proves it knows the password too (no downgrade to a server that just says "ok").
        if (m.body.subarray(4).toString("utf8") !== `v=${expected}`) throw new Error("SCRAM server signature mismatch");
      } else {
        throw new Error(`unsupported PostgreSQL authentication ${code}`);
      }
    }
    sock.write(message("Q", cstr(sql)));
    let row: (string | null)[] | undefined;
    for (;;) {
      const m = await pgMessage(r);
      if (m.type === "E") throw pgError(m.body);
      if (m.type === "D" && !row) {
        const n = m.body.readInt16BE(0);
        row = [];
        let off = 2;
        for (let i = 0; i < n; i++) {
          const len = m.body.readInt32BE(off);
          off += 4;
          if (len < 0) row.push(null);
          else {
            row.push(m.body.subarray(off, off + len).toString("utf8"));
            off += len;
          }
        }
      }
      if (m.type === "Z") break;
    }
    sock.write(message("X", Buffer.alloc(0)));
    if (!row) throw new Error("PostgreSQL returned no row");
    return row;
  });
}

// ---- Redis ----

/** One RESP reply: simple strings, errors, integers and bulk strings (what AUTH and INFO answer). */
async function respReply(r: Reader): Promise<string | number | null> {
  const l = await r.line();
  const kind = l[0];
  const rest = l.slice(1);
  if (kind === "+") return rest;
  if (kind === "-") throw new Error(`Redis: ${rest.split(" ")[0] ?? "error"}`); // the code only (WRONGPASS, NOAUTH...)
  if (kind === ":") return Number(rest);
  if (kind === "$") {
    const n = Number(rest);
    if (n < 0) return null;
    if (!Number.isInteger(n) || n > 16 * 1024 * 1024) throw new Error("bad Redis bulk length");
    return (await r.take(n + 2)).subarray(0, n).toString("utf8");
  }
  throw new Error("unexpected Redis reply");
}

const resp = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

/** AUTH with `password`, then each command; returns their replies. */
export async function redisCommands(
  target: { host: string; port: number; password: string },
  commands: string[][],
  timeoutMs = 5_000,
): Promise<(string | number | null)[]> {
  return withConnection(target.host, target.port, timeoutMs, async (sock, r) => {
    sock.write(resp("AUTH", target.password) + commands.map((c) => resp(...c)).join("") + resp("QUIT"));
    await respReply(r);
    const out: (string | number | null)[] = [];
    for (let i = 0; i < commands.length; i++) out.push(await respReply(r));
    return out;
  });
}

/** `field:value` lines of an INFO reply as a map. Pure. */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split(/\r?\n/)) {
    const i = l.indexOf(":");
    if (i > 0 && !l.startsWith("#")) m.set(l.slice(0, i), l.slice(i + 1));
  }
  return m;
}
