import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { appUrls } from "./urls.ts";

const config = (env: Record<string, string>) => loadConfig({ BERTH_DATA_DIR: "/tmp/berth-urls", ...env });

describe("appUrls", () => {
  it("gives the plain router URL in development and for localhost names", () => {
    expect(appUrls(config({ BERTH_ROUTER_PORT: "8080" }), "shop").webUrl).toBe("http://shop.localhost:8080/");
    expect(appUrls(config({ BERTH_ROUTER_PORT: "8080", BERTH_HTTPS_PORT: "8443" }), "shop").webUrl).toBe(
      "http://shop.localhost:8080/",
    );
    expect(appUrls(config({ BERTH_ROUTER_PORT: "80", BERTH_DOMAIN: "apps.example.com" }), "shop").webUrl).toBe(
      "http://shop.apps.example.com/",
    );
  });

  it("gives https when the router has a certificate for APP.BERTH_DOMAIN", () => {
    const env = { BERTH_ROUTER_PORT: "80", BERTH_DOMAIN: "apps.example.com" };
    expect(appUrls(config({ ...env, BERTH_HTTPS_PORT: "443" }), "shop").webUrl).toBe("https://shop.apps.example.com/");
    expect(appUrls(config({ ...env, BERTH_HTTPS_PORT: "8443" }), "shop").webUrl).toBe(
      "https://shop.apps.example.com:8443/",
    );
  });
});
