// Git pre-receive hook of every Berth repository. It forwards the pushed ref updates (stdin) and the
// quarantine object directories to the control plane, which builds and releases, and prints the streamed
// output; git shows it to the pusher as "remote:" lines. The hook's exit code accepts or rejects the push.
// Plain JavaScript on purpose: it runs under git with no loader, as fast as possible.
import http from "node:http";

const url = process.env.BERTH_HOOK_URL;
const secret = process.env.BERTH_PUSH_SECRET;
if (!url || !secret) {
  process.stderr.write("berth: pushes are only accepted through the Berth git endpoint\n");
  process.exit(1);
}

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;

const body = JSON.stringify({
  updates: input
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [oldRev, newRev, ref] = line.split(" ");
      return { oldRev, newRev, ref };
    }),
  objectDirectory: process.env.GIT_OBJECT_DIRECTORY ?? null,
  alternateObjectDirectories: process.env.GIT_ALTERNATE_OBJECT_DIRECTORIES ?? null,
  quarantinePath: process.env.GIT_QUARANTINE_PATH ?? null,
});

const RESULT = "\u0000berth-result:";
const code = await new Promise((resolve) => {
  const req = http.request(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
  });
  req.on("response", (res) => {
    let tail = "";
    res.setEncoding("utf8");
    res.on("data", (chunk) => {
      // The last line carries the verdict; everything before it is output for the pusher.
      tail += chunk;
      const cut = tail.lastIndexOf("\n");
      if (cut >= 0) {
        const lines = tail.slice(0, cut + 1);
        tail = tail.slice(cut + 1);
        const i = lines.indexOf(RESULT);
        process.stdout.write(i >= 0 ? lines.slice(0, i) : lines);
        if (i >= 0) tail = lines.slice(i) + tail;
      }
    });
    res.on("end", () => {
      const m = /berth-result:(\d+)/.exec(tail);
      if (!m) process.stdout.write(tail);
      resolve(m ? Number(m[1]) : 1);
    });
  });
  req.on("error", (err) => {
    process.stderr.write(`berth: cannot reach the control plane: ${err.message}\n`);
    resolve(1);
  });
  req.end(body);
});
process.exit(code);
