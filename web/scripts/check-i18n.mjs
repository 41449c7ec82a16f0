// Checks that every human-readable string of the browser app lives in the message catalogues.
//
//   node scripts/check-i18n.mjs [--src DIR] [--catalogues DIR]
//
// Fails (exit 1, one line per problem) on: text in JSX markup; string literals in attributes
// people read (aria-label, title, placeholder, alt, ...); Chinese text anywhere outside the
// catalogues; catalogues whose keys, placeholders or emptiness differ; keys used but not
// defined; keys defined but never used. A key counts as used when a string literal in the code
// equals it or names its group (``tn("duration.minutes", n)`` uses ``duration.minutes.one``),
// or when a template literal starts with its prefix (``t(`status.${s}`)``).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? path.resolve(args[i + 1]) : fallback;
};
const srcDir = option("--src", path.join(here, "..", "src"));
const catalogueDir = option("--catalogues", path.join(srcDir, "i18n"));

const HUMAN_ATTRIBUTES = new Set([
  "aria-label",
  "aria-description",
  "aria-placeholder",
  "aria-roledescription",
  "aria-valuetext",
  "title",
  "placeholder",
  "alt",
  "label",
]);
const LETTER = /\p{L}/u;
const HAN = /\p{Script=Han}/u;
const PLACEHOLDER = /\{(\w+)\}/g;

const problems = [];
const report = (file, node, message) => {
  const source = node.getSourceFile();
  const { line, character } = source.getLineAndCharacterOfPosition(node.getStart());
  problems.push(`${path.relative(process.cwd(), file)}:${line + 1}:${character + 1}: ${message}`);
};

function files(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(full));
    else if (/\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

// ------------------------------------------------------------------ catalogues

const catalogues = {};
for (const name of readdirSync(catalogueDir).filter((f) => f.endsWith(".json")).sort()) {
  catalogues[name] = JSON.parse(readFileSync(path.join(catalogueDir, name), "utf8"));
}
const names = Object.keys(catalogues);
if (names.length < 2) problems.push(`${catalogueDir}: expected at least two catalogues`);
const reference = catalogues["en.json"] ?? catalogues[names[0]] ?? {};
const keys = Object.keys(reference);
for (const [name, catalogue] of Object.entries(catalogues)) {
  for (const key of keys) {
    if (!(key in catalogue)) problems.push(`${name}: missing key ${key}`);
  }
  for (const [key, value] of Object.entries(catalogue)) {
    if (!(key in reference)) problems.push(`${name}: key ${key} is not in en.json`);
    if (typeof value !== "string" || !value.trim()) problems.push(`${name}: ${key} is empty`);
    const wanted = [...String(reference[key] ?? "").matchAll(PLACEHOLDER)].map((m) => m[1]).sort();
    const found = [...String(value).matchAll(PLACEHOLDER)].map((m) => m[1]).sort();
    if (key in reference && wanted.join(",") !== found.join(",")) {
      problems.push(`${name}: ${key} has placeholders {${found}} but en.json has {${wanted}}`);
    }
  }
}

// ------------------------------------------------------------------ sources

const used = new Set();
const prefixes = new Set();
const literalKeys = []; // [file, node, text] of t("...") calls, checked after the walk

for (const file of files(srcDir)) {
  if (file.startsWith(catalogueDir + path.sep)) continue;
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true,
    file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);

  const visit = (node) => {
    if (ts.isJsxText(node)) {
      const content = node.getText().trim();
      if (LETTER.test(content)) report(file, node, `text in markup: ${JSON.stringify(content)}`);
    } else if (ts.isJsxAttribute(node)) {
      const name = node.name.getText();
      const init = node.initializer;
      const literal =
        init && ts.isStringLiteral(init)
          ? init
          : init && ts.isJsxExpression(init) && init.expression &&
              (ts.isStringLiteral(init.expression) || ts.isNoSubstitutionTemplateLiteral(init.expression))
            ? init.expression
            : null;
      if (literal && HUMAN_ATTRIBUTES.has(name) && LETTER.test(literal.text)) {
        report(file, literal, `${name} is not from the catalogue: ${JSON.stringify(literal.text)}`);
      }
    } else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      if (HAN.test(node.text)) {
        report(file, node, `Chinese text outside the catalogues: ${JSON.stringify(node.text)}`);
      }
      used.add(node.text);
    } else if (ts.isTemplateExpression(node)) {
      if (node.head.text) prefixes.add(node.head.text);
      for (const span of node.templateSpans) {
        if (HAN.test(span.literal.text)) report(file, span, "Chinese text outside the catalogues");
      }
      if (HAN.test(node.head.text)) report(file, node, "Chinese text outside the catalogues");
    } else if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      (node.expression.text === "t" || node.expression.text === "tn") &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      literalKeys.push([file, node.arguments[0], node.arguments[0].text, node.expression.text]);
    } else if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      /\.(textContent|innerText|innerHTML|title)$/.test(node.left.getText()) &&
      (ts.isStringLiteral(node.right) || ts.isNoSubstitutionTemplateLiteral(node.right)) &&
      LETTER.test(node.right.text)
    ) {
      report(file, node.right, `text assigned to ${node.left.getText()} is not from the catalogue`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

for (const [file, node, key, fn] of literalKeys) {
  const defined = fn === "tn" ? keys.some((k) => k.startsWith(`${key}.`)) : key in reference;
  if (!defined) report(file, node, `key not in the catalogues: ${key}`);
}

const isUsed = (key) => {
  if (used.has(key)) return true;
  const dot = key.lastIndexOf(".");
  if (dot > 0 && used.has(key.slice(0, dot))) return true; // tn("group", n)
  for (const prefix of prefixes) if (key.startsWith(prefix)) return true;
  return false;
};
for (const key of keys) {
  if (!isUsed(key)) problems.push(`en.json: key ${key} is never used`);
}

if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`\n${problems.length} problem(s) with translatable text`);
  process.exit(1);
}
console.log(`i18n: ${keys.length} keys in ${names.length} catalogues, no hard-coded text`);
