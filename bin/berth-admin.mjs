#!/usr/bin/env node
// The `berth-admin` launcher: operator commands on this machine's data dir (backup, restore). It runs the TypeScript
// sources through tsx (registered here, so it works from any directory); these commands are rare and not latency
// sensitive, so they get no bundle.
import { register } from "tsx/esm/api";

register();
await import("../server/admin/main.ts");
