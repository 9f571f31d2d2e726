/**
 * The core's architecture, enforced (ARCHITECTURE.md; STYLE.md "pure core, effects at the
 * edges"): no runtime dependencies, no platform imports, no ambient time, randomness, timers
 * or crypto outside `src/crypto.ts`. Scans `src/` as it is on disk, so files added later are
 * covered without touching this test.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const SRC_DIR = join(PACKAGE_DIR, "src");
const SOURCE_FILE = /\.(?:[cm]?ts|tsx|[cm]?js)$/;

/** Bare specifiers allowed, and where: test support may use fast-check (an optional peer). */
const ALLOWED_BARE = [{ specifier: /^fast-check(?:\/|$)/, under: "testing/" }];
/** The one file allowed to touch Web Crypto (DEVIATIONS 10). */
const CRYPTO_FILE = "crypto.ts";

const AMBIENT_EFFECTS: readonly [string, RegExp][] = [
  ["Date.now", /\bDate\s*\.\s*now\b/g],
  // Reading the clock: `new Date()`, `new Date`, `Date()`.
  ["new Date()", /\bnew\s+Date\s*(?:\(\s*\)|(?![\s(]))/g],
  ["Date()", /(?<!\bnew\s+|\.\s*)\bDate\s*\(/g],
  ["Math.random", /\bMath\s*\.\s*random\b/g],
  ["setTimeout", /\bsetTimeout\b/g],
  ["setInterval", /\bsetInterval\b/g],
  ["setImmediate", /\bsetImmediate\b/g],
  ["performance.now", /\bperformance\s*\.\s*now\b/g],
];
/**
 * Runtime code builds no `Date` at all (timestamps are HLC numbers; parsing dates belongs at
 * the edges). Test support may build fixed ones, e.g. `fc.date({ min: new Date("0000-…") })`,
 * which read no clock.
 */
const RUNTIME_EFFECTS: readonly [string, RegExp][] = [["new Date(", /\bnew\s+Date\s*\(/g]];
const TEST_SUPPORT_DIR = "testing/";
const CRYPTO_REFERENCES: readonly [string, RegExp][] = [
  ["crypto.", /\bcrypto\s*\??\./g],
  ["globalThis.crypto", /\bglobalThis\s*\??\.\s*crypto\b/g],
  ['globalThis["crypto"]', /\bglobalThis\s*\[\s*["'`]crypto["'`]\s*\]/g],
];

interface Lexed {
  /** Comments blanked (newlines kept), literals intact: for reading import specifiers. */
  readonly code: string;
  /** Also the contents of strings, templates and regex literals blanked: for scanning code. */
  readonly bare: string;
}

/**
 * Removes comments without a full parser: a small lexer that knows strings, template
 * literals (with nested `${}`), regex literals and comments, so `"//"` in a string or `/"/` in
 * a regex does not fool it. Output keeps every offset and line of the input.
 */
function lex(source: string): Lexed {
  const code: string[] = [];
  const bare: string[] = [];
  const blank = (c: string) => (c === "\n" ? "\n" : " ");
  const emit = (c: string, keep: "both" | "code" | "none") => {
    code.push(keep === "none" ? blank(c) : c);
    bare.push(keep === "both" ? c : blank(c));
  };
  // Brace depth at each open `${`, so the matching `}` resumes the template.
  const templates: number[] = [];
  let depth = 0;
  let last = ""; // last significant character of code, to tell a regex from a division
  let lastWord = ""; // the word `last` ends, if any (`return /re/` vs `x / y`)
  let prev = ""; // the character just before, whitespace included
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < n && source[i] !== "\n") emit(source[i++]!, "none");
      prev = " ";
      continue;
    }
    if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      while (i < stop) emit(source[i++]!, "none");
      prev = " ";
      continue;
    }
    if (c === '"' || c === "'") {
      emit(c, "both");
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") {
        if (source[i] === "\\") emit(source[i++]!, "code");
        if (i < n) emit(source[i++]!, "code");
      }
      if (i < n) emit(source[i++]!, "both");
      last = c;
      prev = c;
      continue;
    }
    if (c === "`" || (c === "}" && templates.length > 0 && templates[templates.length - 1] === depth)) {
      if (c === "}") templates.pop();
      emit(c, "both");
      i++;
      let opened = false;
      while (i < n && source[i] !== "`") {
        if (source[i] === "\\") {
          emit(source[i++]!, "code");
          if (i < n) emit(source[i++]!, "code");
          continue;
        }
        if (source[i] === "$" && source[i + 1] === "{") {
          emit("$", "both");
          emit("{", "both");
          i += 2;
          templates.push(depth);
          opened = true;
          break;
        }
        emit(source[i++]!, "code");
      }
      if (!opened && i < n) emit(source[i++]!, "both");
      last = "`";
      prev = "`";
      continue;
    }
    if (c === "/" && regexAllowed(last, lastWord)) {
      emit(c, "both");
      i++;
      let inClass = false;
      while (i < n && source[i] !== "\n" && (inClass || source[i] !== "/")) {
        if (source[i] === "\\") emit(source[i++]!, "code");
        else if (source[i] === "[") inClass = true;
        else if (source[i] === "]") inClass = false;
        if (i < n) emit(source[i++]!, "code");
      }
      if (i < n && source[i] === "/") emit(source[i++]!, "both");
      last = ")"; // a regex is a value: a following `/` divides
      lastWord = "";
      prev = "/";
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}") depth--;
    emit(c, "both");
    i++;
    const word = /[\w$]/.test(c);
    if (word) lastWord = /[\w$]/.test(prev) ? lastWord + c : c;
    prev = c;
    if (/\s/.test(c)) continue;
    if (!word) lastWord = "";
    last = c;
  }
  return { code: code.join(""), bare: bare.join("") };
}

/** After these, `/` starts a regex; after a value (identifier, number, `)`, `]`) it divides. */
function regexAllowed(last: string, lastWord: string): boolean {
  if (last === "") return true;
  if (/[\w$]/.test(last))
    return /^(?:return|typeof|instanceof|in|of|new|delete|void|throw|case|do|else|yield|await)$/.test(
      lastWord,
    );
  return !/[)\]}`"']/.test(last);
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Specifiers of `import … from`, `export … from`, `import "…"`, `import("…")`, `require("…")`. */
function importSpecifiers(lexed: Lexed): { specifier: string; line: number }[] {
  const out: { specifier: string; line: number }[] = [];
  const pattern = /(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*(["'])/g;
  for (const match of lexed.bare.matchAll(pattern)) {
    const quote = match.index + match[0].length - 1;
    const end = lexed.code.indexOf(match[1]!, quote + 1);
    out.push({ specifier: lexed.code.slice(quote + 1, end), line: lineOf(lexed.code, quote) });
  }
  return out;
}

/** `file:line: what` for every match of `rules` in code (comments and literals excluded). */
function findUses(file: string, lexed: Lexed, rules: readonly [string, RegExp][]): string[] {
  const out: string[] = [];
  for (const [name, pattern] of rules)
    for (const match of lexed.bare.matchAll(pattern))
      out.push(`${file}:${lineOf(lexed.bare, match.index)}: ${name}`);
  return out;
}

function isBare(specifier: string): boolean {
  return !specifier.startsWith(".") && !specifier.startsWith("/");
}

/** Import violations of one file (`file` relative to src/, with `/`). */
function importViolations(file: string, lexed: Lexed): string[] {
  const out: string[] = [];
  for (const { specifier, line } of importSpecifiers(lexed)) {
    if (specifier.startsWith("node:")) out.push(`${file}:${line}: imports ${specifier}`);
    else if (
      isBare(specifier) &&
      !ALLOWED_BARE.some((a) => a.specifier.test(specifier) && file.startsWith(a.under))
    )
      out.push(`${file}:${line}: imports the package ${specifier}`);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE_FILE.test(entry.name)) out.push(path);
  }
  return out.sort();
}

const files = sourceFiles(SRC_DIR).map((path) => {
  const file = relative(SRC_DIR, path).split(sep).join("/");
  return { file, lexed: lex(readFileSync(path, "utf8")) };
});

describe("the core's architecture", () => {
  it("finds the source files it checks", () => {
    expect(files.map((f) => f.file)).toEqual(expect.arrayContaining(["index.ts", "schema.ts"]));
  });

  it("package.json declares no runtime dependencies (peer and dev are fine)", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    for (const field of [
      "dependencies",
      "optionalDependencies",
      "bundleDependencies",
      "bundledDependencies",
    ]) {
      const value = pkg[field];
      expect(value === undefined || Object.keys(value as object).length === 0, `package.json ${field}`).toBe(
        true,
      );
    }
  });

  it("src/ imports no node: module and no package (except fast-check under src/testing/)", () => {
    expect(files.flatMap(({ file, lexed }) => importViolations(file, lexed))).toEqual([]);
  });

  it(`only src/${CRYPTO_FILE} references crypto`, () => {
    const offending = files
      .filter(({ file }) => file !== CRYPTO_FILE)
      .flatMap(({ file, lexed }) => findUses(file, lexed, CRYPTO_REFERENCES));
    expect(offending).toEqual([]);
  });

  it("src/ reads no clock, randomness or timers (time and randomness are arguments)", () => {
    expect(files.flatMap(({ file, lexed }) => findUses(file, lexed, AMBIENT_EFFECTS))).toEqual([]);
  });

  it(`src/ outside ${TEST_SUPPORT_DIR} constructs no Date`, () => {
    const offending = files
      .filter(({ file }) => !file.startsWith(TEST_SUPPORT_DIR))
      .flatMap(({ file, lexed }) => findUses(file, lexed, RUNTIME_EFFECTS));
    expect(offending).toEqual([]);
  });
});

describe("the scanner itself", () => {
  const scan = (source: string, file = "x.ts") => {
    const lexed = lex(source);
    return [
      ...importViolations(file, lexed),
      ...findUses(file, lexed, AMBIENT_EFFECTS),
      ...findUses(file, lexed, RUNTIME_EFFECTS),
      ...findUses(file, lexed, CRYPTO_REFERENCES),
    ];
  };

  it("reports each forbidden use with file and line", () => {
    const source = [
      'import { readFileSync } from "node:fs";',
      "import fc from 'fast-check';",
      'export { x } from "lodash";',
      "const t = Date . now();",
      "const d = new Date();",
      "const r = Math.random();",
      "setTimeout(f, 1); setInterval(f, 1);",
      "const p = performance.now();",
      "const b = crypto.getRandomValues(a);",
      "const s = globalThis.crypto;",
      'const m = await import("node:crypto");',
      'import "zod";',
    ].join("\n");
    expect(scan(source)).toEqual([
      "x.ts:1: imports node:fs",
      "x.ts:2: imports the package fast-check",
      "x.ts:3: imports the package lodash",
      "x.ts:11: imports node:crypto",
      "x.ts:12: imports the package zod",
      "x.ts:4: Date.now",
      "x.ts:5: new Date()",
      "x.ts:6: Math.random",
      "x.ts:7: setTimeout",
      "x.ts:7: setInterval",
      "x.ts:8: performance.now",
      "x.ts:5: new Date(",
      "x.ts:9: crypto.",
      "x.ts:10: globalThis.crypto",
    ]);
  });

  it("tells a clock read from a fixed Date", () => {
    const source =
      'const a = new Date;\nconst b = Date();\nconst c = new Date("2024-01-01T00:00:00Z");\nx.Date(1);';
    expect(findUses("x.ts", lex(source), AMBIENT_EFFECTS)).toEqual(["x.ts:1: new Date()", "x.ts:2: Date()"]);
    expect(findUses("x.ts", lex(source), RUNTIME_EFFECTS)).toEqual(["x.ts:3: new Date("]);
  });

  it("allows relative imports everywhere and fast-check only under testing/", () => {
    const source =
      'import fc from "fast-check";\nimport { ok } from "../result.js";\nexport * from "./a.js";';
    expect(scan(source, "testing/arb.ts")).toEqual([]);
    expect(scan(source, "arb.ts")).toEqual(["arb.ts:1: imports the package fast-check"]);
  });

  it("ignores comments, strings, templates and regex literals, keeping line numbers", () => {
    const source = [
      "// never call Date.now() here",
      "/* Math.random() and",
      "   setTimeout are injected */",
      'const a = "Date.now() // not a comment"; const b = Math.random();',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
      "const c = `performance.now() ${'x'} setInterval` + `${`${1}`}`; /* */ setInterval(f);",
      "const re = /[/\"'`]Date.now/g; const q = x / 2 / y; setImmediate(f);",
      "/** see crypto.ts and new Date( in the docs */",
      'const from = "node:fs"; // import "node:fs"',
    ].join("\n");
    expect(scan(source)).toEqual(["x.ts:4: Math.random", "x.ts:5: setInterval", "x.ts:6: setImmediate"]);
  });

  it("tells a regex after a keyword from a division after a value", () => {
    const source = [
      "function f(s) { return /Date.now()|setTimeout/.test(s); }",
      "const ret = total / 2 / count; const x = typeof /Math.random/;",
      "const y = (a) / b; Date.now();",
    ].join("\n");
    expect(scan(source)).toEqual(["x.ts:3: Date.now"]);
  });

  it("reads code after a template with nested substitutions", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    const source = "const s = `a${f({ k: `b${1}` })}c`;\nDate.now();";
    expect(scan(source)).toEqual(["x.ts:2: Date.now"]);
  });
});
