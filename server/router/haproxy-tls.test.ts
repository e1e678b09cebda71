import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { certSerial, parseCert } from "./haproxy-certs.ts";
import { runtimeApi } from "./haproxy-process.ts";
import { servedSerial, tlsCommandSucceeded } from "./haproxy-tls.ts";

describe("tlsCommandSucceeded", () => {
  it("tells HAProxy's success answers from its errors", () => {
    const P = "/d/tls/certs/a.example.pem";
    expect(tlsCommandSucceeded(`new ssl cert ${P}`, `New empty certificate store '${P}'!\n`)).toBe(true);
    expect(tlsCommandSucceeded(`new ssl cert ${P}`, `Certificate '${P}' already exists!`)).toBe(false);
    // Prompt mode prints "+ " per payload line before the answer.
    expect(tlsCommandSucceeded(`set ssl cert ${P} <<\nPEM`, `+ + + Transaction created for certificate ${P}!`)).toBe(
      true,
    );
    expect(tlsCommandSucceeded(`set ssl cert ${P} <<\nPEM`, "+ + unable to load the certificate")).toBe(false);
    expect(tlsCommandSucceeded(`commit ssl cert ${P}`, `Committing ${P}\nSuccess!\n`)).toBe(true);
    expect(tlsCommandSucceeded(`commit ssl cert ${P}`, `Committing ${P}\nFailed!\n`)).toBe(false);
    expect(tlsCommandSucceeded(`add ssl crt-list /d/l <<\n${P} a.example`, "+ Inserting ...\nSuccess!")).toBe(true);
    expect(tlsCommandSucceeded(`del ssl crt-list /d/l ${P}`, `Entry '${P}' deleted in crtlist '/d/l'!`)).toBe(true);
    expect(tlsCommandSucceeded(`del ssl cert ${P}`, "Can't remove the certificate: certificate is still in use!")).toBe(
      false,
    );
    expect(tlsCommandSucceeded("add map /d/certs.map a.example 1", "")).toBe(true);
    expect(tlsCommandSucceeded("add map /d/certs.map a.example 1", "Unknown map identifier")).toBe(false);
  });
});

describe("serials", () => {
  it("spell HAProxy's answer and Node's serialNumber the same, leading zero or not", () => {
    // HAProxy keeps a leading zero nibble that Node's X509Certificate drops: an adopted certificate must still match.
    const answer = "Filename: /d/tls/certs/a.example.pem\nStatus: Used\nSerial: 06900027DFF5F2FE26D7DC86DD847737\n";
    expect(servedSerial(answer)).toBe(certSerial("6900027DFF5F2FE26D7DC86DD847737"));
    expect(servedSerial("Serial: 0a1b\n")).toBe("A1B");
    expect(servedSerial("Status: Unused\n")).toBe("");
    expect(certSerial("00")).toBe("0");
  });
});

describe("runtimeApi payload commands", () => {
  it("refuses anything that would smuggle a second command", () => {
    for (const c of [
      "show info\nshutdown frontend berth",
      "set ssl cert x <<\nA\n\nshutdown frontend berth",
      "set ssl cert x <<\n",
      "set ssl cert x; shutdown frontend berth <<\nA",
      "set ssl cert x <<\nA\r",
    ])
      expect(() => runtimeApi("/nonexistent.sock", [c])).toThrow(/bad runtime command/);
  });
});

describe("parseCert", () => {
  it("reads a combined PEM for its host only", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cert-"));
    try {
      execFileSync(
        "/usr/bin/openssl",
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"].concat([
          "-keyout",
          "k.pem",
          "-out",
          "c.pem",
          "-subj",
          "/CN=a.example",
          "-addext",
          "subjectAltName=DNS:a.example",
        ]),
        { cwd: dir, stdio: "ignore" },
      );
      const pem = fs.readFileSync(path.join(dir, "c.pem"), "utf8") + fs.readFileSync(path.join(dir, "k.pem"), "utf8");
      const cert = parseCert(pem, "a.example");
      expect(cert?.serial).toMatch(/^[0-9A-F]+$/);
      expect(cert!.notAfter - Date.now()).toBeGreaterThan(24 * 3600_000);
      expect(parseCert(pem, "b.example")).toBeUndefined();
      expect(parseCert(fs.readFileSync(path.join(dir, "c.pem"), "utf8"), "a.example")).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
