// The web app the root-tier deploy tests push: busybox httpd on PORT 5000 with a CGI script that names the instance
// (its hostname) and the GREETING config var, so a test can tell instances and releases apart by the response.
import fs from "node:fs";

/** GET /cgi-bin/who answers `instance=<hostname> greeting=<$GREETING or none>`. */
export const WHO_CGI = `#!/bin/sh
echo "Content-Type: text/plain"
echo ""
echo "instance=$(hostname) greeting=\${GREETING:-none}"
`;

/** A scratch image with busybox installed, the www tree and httpd as its command. */
export const BUSYBOX_WEB_DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
COPY www /www
RUN ["/bin/chmod","755","/www/cgi-bin/who"]
CMD ["httpd","-f","-p","5000","-h","/www"]
`;

/** The repository files of that app (for makeRepo), plus `extra` files. */
export function busyboxWebApp(extra: Record<string, string> = {}): Record<string, string | Buffer> {
  return {
    Dockerfile: BUSYBOX_WEB_DOCKERFILE,
    busybox: fs.readFileSync("/bin/busybox"),
    "www/cgi-bin/who": WHO_CGI,
    ...extra,
  };
}
