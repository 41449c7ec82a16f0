// Builds the browser app: TypeScript/TSX pages and the stylesheet from src/ into
// static/dist/, with content-hashed names, and writes static/dist/manifest.json that the
// server (web/routes.py) reads to link each page to its files. One reproducible step:
//   npm ci --ignore-scripts && npm run build
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(root, "static", "dist");
export const PAGES = ["signin", "patient", "health", "consult", "doctor", "admin", "pharmacist", "pharmacy", "family", "invitation", "guest", "notfound"];

async function main() {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [
      ...PAGES.map((page) => ({ in: `src/pages/${page}.tsx`, out: page })),
      { in: "src/styles/app.css", out: "app" },
    ],
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    target: ["chrome100", "firefox100", "safari15"],
    minify: true,
    sourcemap: "linked",
    entryNames: "[name]-[hash]",
    chunkNames: "chunks/[name]-[hash]",
    assetNames: "assets/[name]-[hash]",
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  // A warning is a broken source (an unbalanced rule in the stylesheet, a bad import): the
  // build stops rather than ship what the browser would read differently.
  if (result.warnings.length > 0) throw new Error(`the build has ${result.warnings.length} warning(s)`);
  const manifest = { pages: {}, css: null };
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    const url = "/static/dist/" + path.relative(outdir, path.join(root, file)).split(path.sep).join("/");
    if (output.entryPoint === "src/styles/app.css" && file.endsWith(".css")) {
      manifest.css = url;
      continue;
    }
    const page = PAGES.find((p) => output.entryPoint === `src/pages/${p}.tsx`);
    if (page && file.endsWith(".js")) {
      manifest.pages[page] = {
        js: url,
        // Modules the page imports at once: preloaded so the browser fetches them in parallel.
        preload: output.imports
          .filter((i) => i.kind === "import-statement")
          .map((i) => "/static/dist/" + path.relative(outdir, path.join(root, i.path)).split(path.sep).join("/")),
      };
    }
  }
  for (const page of PAGES) {
    if (!manifest.pages[page]) throw new Error(`no bundle for page ${page}`);
  }
  if (!manifest.css) throw new Error("no stylesheet");
  await writeFile(path.join(outdir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  console.log(`built ${PAGES.length} pages into ${path.relative(process.cwd(), outdir) || outdir}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
