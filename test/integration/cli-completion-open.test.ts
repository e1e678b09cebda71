// `berth completion bash|zsh` and `berth open` through the real binary against a real control plane: the generated
// bash function runs in a real bash with COMP_LINE/COMP_POINT as bash sets them (and ':' as a word break), the zsh
// function in a real zsh with `words`/`CURRENT`; app and team names come from the server through the hidden
// `completion:list`. `open` hands the URL as one argument to the xdg-open on PATH, or prints it when there is none.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { until } from "../helpers/until.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

let srv: TestServer;
let home = "";
let token = "";
let binDir = "";
const scripts: Record<string, string> = {};
const berth = (args: string[], extra?: Record<string, string>) => runBerth(args, { url: srv.url, token, home, extra });

beforeAll(async () => {
  srv = await startTestServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-completion-"));
  const owner = new ApiClient(srv.url);
  await owner.signUp("completion@example.com");
  token = (await owner.tokenClient()).token;
  for (const name of ["compl-app", "compl-other"])
    expect((await owner.req("POST", "/api/v1/apps", { name })).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/teams", { name: "compl-team" })).status).toBe(201);
  // The completion functions call `berth` by the name typed on the command line: put one on PATH.
  binDir = path.join(home, "bin");
  fs.mkdirSync(binDir);
  fs.symlinkSync(path.join(ROOT, "bin", "berth.mjs"), path.join(binDir, "berth"));
  for (const shell of ["bash", "zsh"]) {
    const r = await berth(["completion", shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = path.join(home, `berth.${shell}`);
    fs.writeFileSync(scripts[shell] as string, r.stdout);
  }
});

afterAll(async () => {
  await srv?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

/** Runs `shell -c script args...` with the CLI's environment and berth on PATH; resolves with stdout lines. */
function shellLines(shell: string, script: string, args: string[]): Promise<string[]> {
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: "test",
    PATH: `${binDir}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: home,
    BERTH_URL: srv.url,
    BERTH_TOKEN: token,
    XDG_CONFIG_HOME: path.join(home, "config"),
  };
  return new Promise((resolve, reject) => {
    execFile(shell, ["-c", script, shell, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${shell} failed: ${err.message} ${stderr}`));
      else resolve(stdout.split("\n").filter(Boolean));
    });
  });
}

/** What Tab offers for `line` (cursor at the end) in bash, as bash would insert it. */
function bashComplete(line: string): Promise<string[]> {
  const script = [
    'source "$1"',
    // Interactive bash's default word breaks (':' among them), which the function must cope with.
    "COMP_WORDBREAKS=$'\"\\'><=;|&(:'",
    'COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}',
    "_berth",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  return shellLines("bash", script, [scripts.bash as string, line]);
}

/** What Tab offers for `line` in zsh: `words`/`CURRENT` as compsys sets them, compadd filtering by prefix. */
function zshComplete(line: string): Promise<string[]> {
  const script = [
    "compdef() { :; }",
    'compadd() { shift; local c; for c in "$@"; do [[ $c == ${words[CURRENT]}* ]] && print -r -- $c; done; return 0 }',
    'source "$1"',
    'words=(${=2}); [[ $2 == *" " ]] && words+=("")',
    "CURRENT=${#words}",
    "_berth",
  ].join("\n");
  return shellLines("zsh", script, [scripts.zsh as string, line]);
}

describe("berth completion", () => {
  it("prints a script that registers the completion function, and refuses other shells", async () => {
    expect(await shellLines("bash", 'source "$1"; complete -p berth', [scripts.bash as string])).toEqual([
      "complete -F _berth berth",
    ]);
    expect(fs.readFileSync(scripts.zsh as string, "utf8").startsWith("#compdef berth\n")).toBe(true);
    await shellLines("zsh", 'zsh -n "$1" && print ok', [scripts.zsh as string]);
    const fish = await berth(["completion", "fish"]);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toMatch(/use bash or zsh/);
  });

  it("bash: commands (with ':' a word break), options of the command, shells", async () => {
    expect(await bashComplete("berth apps:i")).toEqual(["info"]);
    expect(await bashComplete("berth app")).toEqual(["apps", "apps:create", "apps:info", "apps:destroy"]);
    const top = await bashComplete("berth ");
    expect(top).toEqual(expect.arrayContaining(["open", "completion", "ps:scale", "whoami", "help"]));
    expect(top).not.toContain("completion:list");
    expect(top).not.toContain("git:credential");
    expect(await bashComplete("berth ps:scale --w")).toEqual(["--wait"]);
    expect(await bashComplete("berth open -")).toEqual(expect.arrayContaining(["-a", "--app", "--print", "--json"]));
    expect(await bashComplete("berth completion ")).toEqual(["bash", "zsh"]);
  });

  it("bash: app and team names from the server after -a/--app and -t/--team, only where they mean that", async () => {
    expect(await bashComplete("berth apps:info -a ")).toEqual(["compl-app", "compl-other"]);
    expect(await bashComplete("berth config:set --app compl-o")).toEqual(["compl-other"]);
    expect(await bashComplete("berth members -t compl-t")).toEqual(["compl-team"]);
    expect(await bashComplete("berth members --team ")).toEqual(expect.arrayContaining(["compl-team", "completion"]));
    // `logs -t` is --tail, a flag: no names after it.
    expect(await bashComplete("berth logs -t ")).not.toContain("compl-app");
    // A value that is not a name: nothing.
    expect(await bashComplete("berth limits:set web --memory ")).toEqual([]);
  });

  it("zsh: commands, options and names the same way", async () => {
    expect(await zshComplete("berth apps:i")).toEqual(["apps:info"]);
    expect(await zshComplete("berth ps:restart --w")).toEqual(["--wait"]);
    expect(await zshComplete("berth apps:info -a ")).toEqual(["compl-app", "compl-other"]);
    expect(await zshComplete("berth completion ")).toEqual(["bash", "zsh"]);
  });

  it("shows that every command takes --json (but completion, a shell script) and the rollout commands take --wait", () => {
    const options = new Map(
      [...fs.readFileSync(scripts.bash as string, "utf8").matchAll(/^ {4}([a-z:-]+)\) _berth_o="([^"]*)"/gm)].map(
        (m) => [m[1] as string, (m[2] as string).split(" ")],
      ),
    );
    expect(options.size).toBeGreaterThan(45);
    const withoutJson = [...options].filter(([, o]) => !o.includes("--json")).map(([name]) => name);
    expect(withoutJson.sort()).toEqual(["completion", "help"]);
    const withWait = [...options].filter(([, o]) => o.includes("--wait")).map(([name]) => name);
    expect(withWait.sort()).toEqual(["config:set", "config:unset", "ps:restart", "ps:scale", "rollback"]);
  });

  it("completion:list prints nothing (and no error) when it cannot ask the server", async () => {
    const r = await runBerth(["completion:list", "apps"], { url: "http://127.0.0.1:9", home });
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
  });
});

describe("berth open", () => {
  it("--json prints the app's web URL", async () => {
    const r = await berth(["open", "-a", "compl-app", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.app).toBe("compl-app");
    expect(body.url).toMatch(/^http:\/\/compl-app\.localhost(:\d+)?\/?$/);
  });

  it("runs xdg-open from PATH with the URL as its only argument", async () => {
    const dir = fs.mkdtempSync(path.join(home, "opener-"));
    const log = path.join(dir, "args");
    fs.writeFileSync(
      path.join(dir, "xdg-open"),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "$OPEN_LOG"\n`,
      {
        mode: 0o755,
      },
    );
    const r = await berth(["open", "-a", "compl-app"], { PATH: dir, OPEN_LOG: log });
    expect(r.code, r.stderr).toBe(0);
    const url = (JSON.parse((await berth(["open", "-a", "compl-app", "--json"])).stdout) as { url: string }).url;
    expect(r.stdout).toBe(`Opening ${url}\n`);
    expect(await until("xdg-open ran", () => fs.existsSync(log) && fs.readFileSync(log, "utf8"), 10_000, 50)).toBe(
      `${url}\n`,
    );
  });

  it("prints the URL when there is no xdg-open, or with --print", async () => {
    const empty = fs.mkdtempSync(path.join(home, "empty-"));
    const r = await berth(["open", "-a", "compl-app"], { PATH: empty });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^http:\/\/compl-app\.localhost\S*\n$/);
    const p = await berth(["open", "-a", "compl-app", "--print"]);
    expect(p.stdout).toBe(r.stdout);
    const missing = await berth(["open", "-a", "compl-nope"]);
    expect(missing.code).toBe(1);
  });
});
