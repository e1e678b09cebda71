// Removes the e2e platform's data directory once the web server has been stopped.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export default function teardown(): void {
  const port = Number(process.env.BERTH_E2E_PORT || 3917);
  fs.rmSync(path.join(os.tmpdir(), `berth-e2e-${port}`), { recursive: true, force: true });
}
