import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";

const defaultDataDir =
  process.getuid?.() === 0 ? "/var/lib/berth" : path.join(os.homedir(), ".local", "share", "berth");

describe("loadConfig", () => {
  it("uses the documented defaults for an empty environment", () => {
    const c = loadConfig({});
    // toMatchObject: later issues add settings; each one's default belongs in this list.
    expect(c).toMatchObject({
      dataDir: defaultDataDir,
      databaseUrl: `file:${path.join(defaultDataDir, "berth.db")}`,
      port: 3000,
      host: "0.0.0.0",
      routerPort: 8080,
      routerOutlives: true,
      routerThreads: 0,
      domain: "localhost",
      publicUrl: undefined,
      admin: undefined,
      dnsResolvers: [],
      logLevel: "info",
      loginAccountLimitPerHour: 100,
      loginIpLimitPerHour: 300,
      signupOpen: true,
      deployBranches: ["main", "master"],
      build: { concurrency: 2, timeoutMs: 900_000, memory: "2g" },
      registryPort: 0,
      minFreeBytes: 256 * 1024 * 1024,
      appLogBytes: 16 * 1024 * 1024,
      buildOutputBytes: 1024 * 1024,
      backup: { intervalMinutes: 0, dir: path.join(defaultDataDir, "backups"), keep: 7 },
      dev: false,
    });
  });

  it("reads the disk limits", () => {
    const c = loadConfig({ BERTH_MIN_FREE_MB: "0", BERTH_APP_LOG_MB: "0.5", BERTH_BUILD_OUTPUT_KB: "64" });
    expect([c.minFreeBytes, c.appLogBytes, c.buildOutputBytes]).toEqual([0, 512 * 1024, 64 * 1024]);
    expect(() => loadConfig({ BERTH_APP_LOG_MB: "0" })).toThrow(/BERTH_APP_LOG_MB/);
  });

  it("reads the backup schedule and refuses a negative interval", () => {
    const c = loadConfig({
      BERTH_DATA_DIR: "/srv/b",
      BERTH_BACKUP_INTERVAL: "1440",
      BERTH_BACKUP_DIR: "/mnt/backups",
      BERTH_BACKUP_KEEP: "3",
    });
    expect(c.backup).toEqual({ intervalMinutes: 1440, dir: "/mnt/backups", keep: 3 });
    expect(() => loadConfig({ BERTH_BACKUP_INTERVAL: "-5" })).toThrow(/BERTH_BACKUP_INTERVAL/);
    expect(() => loadConfig({ BERTH_BACKUP_KEEP: "0" })).toThrow(/BERTH_BACKUP_KEEP/);
  });

  it("has HAProxy as the only router: BERTH_ROUTER=haproxy is accepted, caddy is refused as removed", () => {
    expect(loadConfig({ BERTH_ROUTER: "haproxy", BERTH_ROUTER_OUTLIVES: "off" })).toMatchObject({
      routerOutlives: false,
    });
    expect(() => loadConfig({ BERTH_ROUTER: "caddy" })).toThrow(/BERTH_ROUTER: the Caddy router was removed/);
    expect(() => loadConfig({ BERTH_ROUTER: "nginx" })).toThrow(/BERTH_ROUTER: the only router is haproxy/);
    expect(loadConfig({ BERTH_HTTPS_PORT: "8443", BERTH_TLS_ISSUER: "internal" })).toMatchObject({
      httpsPort: 8443,
      tlsIssuer: "internal",
    });
  });

  it("reads every variable it documents", () => {
    const c = loadConfig({
      BERTH_DATA_DIR: "/srv/berth",
      PORT: "4000",
      HOST: "127.0.0.1",
      BERTH_ROUTER_PORT: "80",
      BERTH_DOMAIN: "apps.example.com",
      BERTH_PUBLIC_URL: "https://berth.example.com",
      BERTH_ADMIN_EMAIL: "Root@Example.com",
      BERTH_ADMIN_PASSWORD: "a-long-password",
      BERTH_LOG_LEVEL: "debug",
      BERTH_LOGIN_ACCOUNT_LIMIT: "7",
      BERTH_LOGIN_IP_LIMIT: "5",
      BERTH_SIGNUP: "closed",
      NODE_ENV: "development",
    });
    expect(c.dataDir).toBe("/srv/berth");
    expect(c.databaseUrl).toBe("file:/srv/berth/berth.db");
    expect(c.port).toBe(4000);
    expect(c.host).toBe("127.0.0.1");
    expect(c.routerPort).toBe(80);
    expect(c.domain).toBe("apps.example.com");
    expect(c.publicUrl).toBe("https://berth.example.com");
    expect(c.admin).toEqual({ email: "root@example.com", password: "a-long-password" });
    expect(c.logLevel).toBe("debug");
    expect(c.loginAccountLimitPerHour).toBe(7);
    expect(c.loginIpLimitPerHour).toBe(5);
    expect(c.signupOpen).toBe(false);
    expect(c.dev).toBe(true);
  });

  it("reads the build settings", () => {
    const c = loadConfig({
      BERTH_DEPLOY_BRANCHES: "main,release-1.x",
      BERTH_BUILD_CONCURRENCY: "4",
      BERTH_BUILD_TIMEOUT: "60",
      BERTH_BUILD_MEMORY: "512m",
      BERTH_REGISTRY_PORT: "5000",
    });
    expect(c.deployBranches).toEqual(["main", "release-1.x"]);
    expect(c.build).toEqual({ concurrency: 4, timeoutMs: 60_000, memory: "512m" });
    expect(c.registryPort).toBe(5000);
  });

  it("resolves a relative data dir to an absolute path", () => {
    const c = loadConfig({ BERTH_DATA_DIR: "data" });
    expect(c.dataDir).toBe(path.resolve("data"));
    expect(path.isAbsolute(c.dataDir)).toBe(true);
  });

  it("treats empty variables as unset", () => {
    const c = loadConfig({
      PORT: "",
      BERTH_DATA_DIR: "",
      BERTH_PUBLIC_URL: "",
      BERTH_ADMIN_EMAIL: "",
      BERTH_ADMIN_PASSWORD: "",
    });
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe(defaultDataDir);
    expect(c.publicUrl).toBeUndefined();
    expect(c.admin).toBeUndefined();
  });

  it("accepts PORT=0 (a random port, used by tests)", () => {
    expect(loadConfig({ PORT: "0" }).port).toBe(0);
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["BERTH_ROUTER_PORT", "65536"],
    ["BERTH_LOG_LEVEL", "loud"],
    ["BERTH_LOGIN_ACCOUNT_LIMIT", "0"],
    ["BERTH_LOGIN_IP_LIMIT", "-5"],
    ["BERTH_LOGIN_IP_LIMIT", "many"],
    ["BERTH_SIGNUP", "maybe"],
    ["BERTH_DEPLOY_BRANCHES", "main;id"],
    ["BERTH_DEPLOY_BRANCHES", "main,,dev"],
    ["BERTH_BUILD_CONCURRENCY", "0"],
    ["BERTH_BUILD_TIMEOUT", "5"],
    ["BERTH_BUILD_MEMORY", "lots"],
    ["BERTH_REGISTRY_PORT", "99999"],
  ])("refuses %s=%s and names the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: .*${name}`));
  });

  it("lists every problem at once", () => {
    expect(() => loadConfig({ PORT: "abc", BERTH_SIGNUP: "maybe" })).toThrow(/PORT.*; BERTH_SIGNUP/);
  });

  it("needs both admin variables or neither", () => {
    expect(() => loadConfig({ BERTH_ADMIN_EMAIL: "root@example.com" })).toThrow(
      /both BERTH_ADMIN_EMAIL and BERTH_ADMIN_PASSWORD/,
    );
    expect(() => loadConfig({ BERTH_ADMIN_PASSWORD: "a-long-password" })).toThrow(
      /both BERTH_ADMIN_EMAIL and BERTH_ADMIN_PASSWORD/,
    );
  });

  it("has HTTPS off by default, with Let's Encrypt (ACME) as the issuer once it is on", () => {
    expect(loadConfig({})).toMatchObject({ httpsPort: 0, tlsIssuer: "acme", acmeEmail: undefined, acmeCa: undefined });
  });

  it("reads the TLS settings", () => {
    const acme = loadConfig({
      BERTH_ROUTER_PORT: "80",
      BERTH_HTTPS_PORT: "443",
      BERTH_ACME_EMAIL: "ops@example.com",
      BERTH_ACME_CA: "https://acme-staging-v02.api.letsencrypt.org/directory",
    });
    expect(acme).toMatchObject({
      httpsPort: 443,
      tlsIssuer: "acme",
      acmeEmail: "ops@example.com",
      acmeCa: "https://acme-staging-v02.api.letsencrypt.org/directory",
    });
    expect(loadConfig({ BERTH_HTTPS_PORT: "8443", BERTH_TLS_ISSUER: "internal" })).toMatchObject({
      httpsPort: 8443,
      tlsIssuer: "internal",
    });
  });

  it.each([
    ["BERTH_HTTPS_PORT", "65536"],
    ["BERTH_TLS_ISSUER", "zerossl"],
    ["BERTH_ACME_EMAIL", "ops"],
    ["BERTH_ACME_CA", "http://ca.example/directory"],
    ["BERTH_ACME_CA", "letsencrypt"],
  ])("refuses %s=%s and names the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: .*${name}`));
  });

  it("refuses an HTTPS port equal to the router port, and ACME settings for the internal issuer", () => {
    expect(() => loadConfig({ BERTH_ROUTER_PORT: "8443", BERTH_HTTPS_PORT: "8443" })).toThrow(/must differ/);
    expect(() => loadConfig({ BERTH_TLS_ISSUER: "internal", BERTH_ACME_EMAIL: "ops@example.com" })).toThrow(
      /only to BERTH_TLS_ISSUER=acme/,
    );
  });

  it("reads process.env by default", () => {
    const before = process.env.BERTH_DOMAIN;
    process.env.BERTH_DOMAIN = "from-process.example";
    try {
      expect(loadConfig().domain).toBe("from-process.example");
    } finally {
      if (before === undefined) delete process.env.BERTH_DOMAIN;
      else process.env.BERTH_DOMAIN = before;
    }
  });

  it("reads BERTH_DNS_RESOLVER as addresses with optional ports, refusing anything else", () => {
    expect(loadConfig({ BERTH_DNS_RESOLVER: "127.0.0.1:5353" }).dnsResolvers).toEqual(["127.0.0.1:5353"]);
    expect(loadConfig({ BERTH_DNS_RESOLVER: "1.1.1.1, [::1]:53,2001:db8::1" }).dnsResolvers).toEqual([
      "1.1.1.1",
      "[::1]:53",
      "2001:db8::1",
    ]);
    for (const bad of [
      "dns.example.com",
      "127.0.0.1:0",
      "127.0.0.1:70000",
      "[127.0.0.1]:53",
      "1.2.3:53",
      "127.0.0.1;rm",
    ]) {
      expect(() => loadConfig({ BERTH_DNS_RESOLVER: bad }), bad).toThrow(/BERTH_DNS_RESOLVER/);
    }
  });
});
