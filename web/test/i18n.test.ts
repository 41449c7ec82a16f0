// Language choice from the browser's preferences (src/lib/i18n.ts).
import assert from "node:assert/strict";
import { test } from "node:test";

test("the first supported preferred language wins; Chinese otherwise", async () => {
  // i18n.ts reads the browser at import: give it a minimal one.
  const browser = {
    localStorage: { getItem: () => null, setItem: () => undefined },
    navigator: { languages: ["fr-FR"], language: "fr-FR" },
    document: { documentElement: { lang: "" } },
  };
  for (const [name, value] of Object.entries(browser)) {
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  const { detectLocale } = await import("../src/lib/i18n");
  assert.equal(detectLocale(["en-GB", "zh-CN"]), "en");
  assert.equal(detectLocale(["zh-TW", "en-US"]), "zh-CN");
  assert.equal(detectLocale(["fr-FR", "de-DE"]), "zh-CN");
  assert.equal(detectLocale(["fr", "EN"]), "en");
  assert.equal(detectLocale([]), "zh-CN");
});
