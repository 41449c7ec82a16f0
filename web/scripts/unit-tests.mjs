// Runs the unit tests of the pure browser-app modules (test/*.test.ts) with node's test runner:
// esbuild bundles each test file for node into a temporary folder first.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const tests = (await readdir(path.join(root, "test"))).filter((f) => f.endsWith(".test.ts"));
const out = await mkdtemp(path.join(tmpdir(), "telemed-web-tests-"));
try {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: tests.map((f) => path.join("test", f)),
    outdir: out,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node18",
    outExtension: { ".js": ".mjs" },
    logLevel: "warning",
  });
  const files = (await readdir(out)).filter((f) => f.endsWith(".mjs")).map((f) => path.join(out, f));
  const result = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
  process.exitCode = result.status ?? 1;
} finally {
  await rm(out, { recursive: true, force: true });
}
