import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseInfo, redisCommands, scramProof } from "./wire.ts";

describe("SCRAM-SHA-256", () => {
  it("computes RFC 7677's example proof and server signature", () => {
    const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const r = scramProof(
      "pencil",
      "n=user,r=rOprNGfwEbeRWgbNEkqO",
      `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      `c=biws,r=${nonce}`,
    );
    expect(r.proof).toBe("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    expect(r.serverSignature).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });

  it("refuses absurd iteration counts (a hostile server could make us spin)", () => {
    expect(() => scramProof("x", "n=*,r=a", "r=ab,s=AAAA,i=99999999", "c=biws,r=ab")).toThrow(/iterations/);
  });
});

describe("Redis", () => {
  let server: net.Server | undefined;
  afterEach(() => server?.close());

  it("sends AUTH first and reads INFO replies; a refused password is an error without the password", async () => {
    const seen: string[] = [];
    server = net.createServer((c) => {
      c.on("data", (d) => {
        seen.push(d.toString());
        const ok = d.toString().includes("right");
        const info = "# Clients\r\nconnected_clients:3\r\n";
        c.end(ok ? `+OK\r\n$${info.length}\r\n${info}\r\n` : "-WRONGPASS invalid username-password pair\r\n");
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    const [info] = await redisCommands({ host: "127.0.0.1", port, password: "right" }, [["INFO", "clients"]]);
    expect(parseInfo(String(info)).get("connected_clients")).toBe("3");
    expect(seen.join("")).toMatch(/^\*2\r\n\$4\r\nAUTH\r\n\$5\r\nright\r\n/);
    const err = await redisCommands({ host: "127.0.0.1", port, password: "wrong-secret" }, [["INFO"]]).catch(
      (e: Error) => e,
    );
    expect(String(err)).toContain("WRONGPASS");
    expect(String(err)).not.toContain("wrong-secret");
  });
});
