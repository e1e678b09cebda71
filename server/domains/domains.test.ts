import { describe, expect, it } from "vitest";
import { domainUrl } from "./domains.ts";

describe("domainUrl", () => {
  it.each([
    { httpsPort: 0, routerPort: 8080, want: { https: false, url: "http://shop.example.com:8080/" } },
    { httpsPort: 0, routerPort: 80, want: { https: false, url: "http://shop.example.com/" } },
    { httpsPort: 443, routerPort: 80, want: { https: true, url: "https://shop.example.com/" } },
    { httpsPort: 8443, routerPort: 8080, want: { https: true, url: "https://shop.example.com:8443/" } },
  ])("https port $httpsPort, router port $routerPort -> $want.url", ({ httpsPort, routerPort, want }) => {
    expect(domainUrl({ httpsPort, routerPort }, "shop.example.com")).toEqual(want);
  });

  it("never promises HTTPS for a name the router does not certify", () => {
    expect(domainUrl({ httpsPort: 443, routerPort: 80 }, "shop.localhost")).toEqual({
      https: false,
      url: "http://shop.localhost/",
    });
  });
});
