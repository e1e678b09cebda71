// live.ts's own logic (parsing, nulls) and live-query.ts's promises about the client libraries: one deadline that
// closes the connection, no downgrade from SCRAM, no credential in a message. The servers here are fakes on
// loopback; test/root/addons-network.root.test.ts asks a real PostgreSQL add-on.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { int, parseInfo, redisFigures } from "./live.ts";
import { pgQueryRow, redisInfo, safeReason, scrub } from "./live-query.ts";

describe("figures", () => {
  it("int keeps non-negative safe integers only", () => {
    expect(int("42")).toBe(42);
    expect(int(7)).toBe(7);
    for (const v of [null, undefined, "", "-1", "1.5", "abc", "99999999999999999999", {}]) expect(int(v)).toBeNull();
  });

  it("parses INFO and leaves out the asking connection", () => {
    const clients = "# Clients\r\nconnected_clients:3\r\nblocked_clients:0\r\n";
    expect(parseInfo(clients).get("connected_clients")).toBe("3");
    expect(redisFigures(clients, "# Memory\r\nused_memory_dataset:1234\r\n")).toEqual({
      connections: 2,
      dataBytes: 1234,
    });
    expect(redisFigures("", "")).toEqual({ connections: null, dataBytes: null });
    expect(redisFigures("connected_clients:0", "")).toEqual({ connections: 0, dataBytes: null });
  });

  it("scrubs every credential, the longest first", () => {
    expect(scrub('password authentication failed for user "berth_u1"', ["s3cret", "berth_u1", "berth"])).toBe(
      'password authentication failed for user "***"',
    );
    expect(safeReason("Redis", new Error("bad s3cret"), ["s3cret", ""])).toBe("Redis: bad ***");
  });
});

describe("clients against fake servers", () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** A loopback server; `onConn` gets each socket; resolves with its port and a promise of the first close. */
  async function serve(onConn: (c: net.Socket, seen: Buffer[]) => void) {
    const seen: Buffer[] = [];
    let closed!: () => void;
    const firstClose = new Promise<void>((r) => (closed = r));
    const server = net.createServer((c) => {
      c.on("data", (d: Buffer) => seen.push(d));
      c.on("close", closed);
      c.on("error", () => {});
      onConn(c, seen);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { port: (server.address() as net.AddressInfo).port, seen, firstClose };
  }

  it("PostgreSQL: a silent server hits the deadline and the connection is closed", async () => {
    const srv = await serve(() => {});
    const err = await pgQueryRow(
      { host: "127.0.0.1", port: srv.port, user: "berth_u1", password: "pw-secret", database: "berth_d1" },
      "select 1",
      300,
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).not.toMatch(/pw-secret|berth_u1|berth_d1/);
    await srv.firstClose; // hangs (test timeout) if the client kept the socket open
  });

  it("PostgreSQL: a server asking for the cleartext password gets nothing", async () => {
    const srv = await serve((c) => {
      c.once("data", () => c.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]))); // AuthenticationCleartextPassword
    });
    const err = await pgQueryRow(
      { host: "127.0.0.1", port: srv.port, user: "berth_u1", password: "pw-secret", database: "berth_d1" },
      "select 1",
      2_000,
    ).catch((e: Error) => e);
    expect(String(err)).toContain("weaker authentication");
    await srv.firstClose;
    expect(Buffer.concat(srv.seen).toString("latin1")).not.toContain("pw-secret");
  });

  it("PostgreSQL: a login error (which names the user) is reduced to its SQLSTATE", async () => {
    const fields = ["SFATAL", "VFATAL", "C28P01", 'Mpassword authentication failed for user "berth_u1"'];
    const body = Buffer.from(`${fields.join("\0")}\0\0`);
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length + 4);
    const srv = await serve((c) => c.once("data", () => c.end(Buffer.concat([Buffer.from("E"), len, body]))));
    const err = await pgQueryRow(
      { host: "127.0.0.1", port: srv.port, user: "berth_u1", password: "pw-secret", database: "berth_d1" },
      "select 1",
      2_000,
    ).catch((e: Error) => e);
    expect(String(err)).toBe("Error: PostgreSQL: server error 28P01");
  });

  it("Redis: a silent server hits the deadline and the connection is closed", async () => {
    const srv = await serve(() => {});
    const err = await redisInfo({ host: "127.0.0.1", port: srv.port, password: "pw-secret" }, ["clients"], 300).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).not.toContain("pw-secret");
    await srv.firstClose;
  });

  it("Redis: AUTH comes first, INFO replies come back; a refused password gives the code, not the password", async () => {
    const info = "# Clients\r\nconnected_clients:3\r\n";
    const srv = await serve((c) => {
      c.on("data", (d: Buffer) => {
        // Commands arrive as RESP arrays; AUTH carries the password, INFO gets a bulk string.
        for (const cmd of d.toString().split("*").filter(Boolean)) {
          if (/AUTH/i.test(cmd))
            c.write(cmd.includes("right") ? "+OK\r\n" : "-WRONGPASS invalid username-password pair\r\n");
          else if (/INFO/i.test(cmd)) c.write(`$${info.length}\r\n${info}\r\n`);
          else c.write("-ERR unexpected\r\n");
        }
      });
    });
    const [reply] = await redisInfo({ host: "127.0.0.1", port: srv.port, password: "right" }, ["clients"]);
    expect(parseInfo(reply ?? "").get("connected_clients")).toBe("3");
    // ioredis logs in first: `HELLO 3 AUTH default <password>` (Redis 6+; the add-on runs 7), then INFO.
    const sent = Buffer.concat(srv.seen).toString();
    expect(sent).toMatch(/^\*5\r\n\$5\r\nhello\r\n\$1\r\n3\r\n\$4\r\nauth\r\n\$7\r\ndefault\r\n\$5\r\nright\r\n/i);
    expect(sent.toLowerCase().indexOf("info")).toBeGreaterThan(sent.indexOf("right"));
    const err = await redisInfo({ host: "127.0.0.1", port: srv.port, password: "wrong-secret" }, ["clients"]).catch(
      (e: Error) => e,
    );
    expect(String(err)).toContain("WRONGPASS");
    expect(String(err)).not.toContain("wrong-secret");
  });
});
