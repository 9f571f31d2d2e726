/**
 * The client's boundaries (ARCHITECTURE.md): it depends on `@mg-sync/crdt-core` only, has no
 * `node:` imports (it will run in a browser page), and reads ambient time, timers and
 * randomness only in `system-runtime.ts`, the edge apps opt into.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src", import.meta.url));
const EDGE = "system-runtime.ts";
const AMBIENT =
  /\bDate\s*\.\s*now\b|\bMath\s*\.\s*random\b|\bset(?:Timeout|Interval|Immediate)\b|\bperformance\s*\.\s*now\b/;

const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));

describe("sync-client src", () => {
  it("has source files", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)("%s imports only crdt-core and its own files", (file) => {
    const text = readFileSync(join(SRC, file), "utf8");
    const specifiers = [...text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s*\(\s*"([^"]+)"/g)].map(
      (m) => m[1] ?? m[2],
    );
    for (const specifier of specifiers) {
      expect(specifier === "@mg-sync/crdt-core" || specifier!.startsWith("./")).toBe(true);
    }
  });

  it.each(files.filter((f) => f !== EDGE))("%s reads no ambient time, timers or randomness", (file) => {
    expect(readFileSync(join(SRC, file), "utf8")).not.toMatch(AMBIENT);
  });
});
