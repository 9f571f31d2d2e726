/**
 * The sync messages' "fast accept, slow reject" checks (messages/sync.ts) against the plain
 * combinator checks they must agree with exactly, written here as they stood before the fast
 * paths: on valid messages and on every single-field corruption, the same value (same keys in
 * the same order, the same arrays handed back) or the same error (path and reason).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { deviceType, hlcTimestamp, id, playbackState, seconds } from "../src/messages/common.js";
import {
  checkContentSnippet,
  checkPreferenceUpdate,
  checkWatchlistUpdate,
  checkWatchProgressUpdate,
  dot,
  dots,
  fraction,
  MAX_OBSERVED_DOTS,
  preferenceValue,
  WATCHLIST_OPERATIONS,
} from "../src/messages/sync.js";
import type { Result } from "../src/result.js";
import { type Check, literal, nullable, object, oneOf, parseWith, ValidationError } from "../src/schema.js";
import {
  preferenceUpdateArbitrary,
  watchlistUpdateArbitrary,
  watchProgressUpdateArbitrary,
} from "../src/testing/message-arbitraries.js";

// ---------------------------------------------------------------------------------------------
// The reference: the combinator checks as written before the fast paths (commit 250a589).

const progressFields = object({
  msg_type: literal("watch_progress_update"),
  content_id: id,
  progress_seconds: seconds,
  duration_seconds: seconds,
  completion_percent: fraction,
  timestamp: hlcTimestamp,
  device_id: id,
  device_type: deviceType,
  state: playbackState,
});
const referenceProgress: Check<unknown> = (value) => {
  const message = progressFields(value);
  if (message.duration_seconds > 0 && message.progress_seconds > message.duration_seconds) {
    throw new ValidationError(`exceeds duration_seconds (${message.duration_seconds})`, ["progress_seconds"]);
  }
  return message;
};

const watchlistFields = object(
  {
    msg_type: literal("watchlist_update"),
    operation: oneOf(WATCHLIST_OPERATIONS),
    content_id: id,
    timestamp: hlcTimestamp,
    device_id: id,
    unique_tag: id,
  },
  { content_metadata: nullable(checkContentSnippet), dot, observed: dots(MAX_OBSERVED_DOTS) },
);
const referenceWatchlist: Check<unknown> = (value) => {
  const message = watchlistFields(value);
  if (message.operation === "Remove" && message.dot !== undefined) {
    throw new ValidationError("a Remove mints no dot", ["dot"]);
  }
  return message;
};

const referencePreference: Check<unknown> = object({
  msg_type: literal("preference_update"),
  key: id,
  value: preferenceValue,
  timestamp: hlcTimestamp,
  device_id: id,
});

// ---------------------------------------------------------------------------------------------
// Corruptions

type Segment = string | number;
const REMOVE = Symbol("remove");

/** Every path below the root, containers and leaves alike. */
function allPaths(value: unknown, prefix: Segment[] = [], out: Segment[][] = []): Segment[][] {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push([...prefix, i]);
      allPaths(item, [...prefix, i], out);
    });
  } else if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) {
      out.push([...prefix, key]);
      allPaths((value as Record<string, unknown>)[key], [...prefix, key], out);
    }
  }
  return out;
}

/** Fields a corruption may add where they are absent (optional fields, fields of other types). */
const ADDED_FIELDS: Segment[][] = [
  ["dot"],
  ["observed"],
  ["content_metadata"],
  ["content_metadata", "year"],
  ["content_metadata", "poster_url"],
  ["extra"],
  ["value"],
];

/** A copy of `root` with the node at `path` replaced by `replacement` (or removed). */
function withField(root: unknown, path: readonly Segment[], replacement: unknown): unknown {
  const copy = structuredClone(root);
  let parent = copy as Record<Segment, unknown>;
  for (const segment of path.slice(0, -1)) {
    const next = parent[segment];
    if (typeof next !== "object" || next === null) return copy;
    parent = next as Record<Segment, unknown>;
  }
  const last = path[path.length - 1]!;
  if (replacement === REMOVE) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = replacement;
  return copy;
}

/** Near every bound and type the checks draw (ids, labels, u32, HLC, enums, dots, snippets …). */
const REPLACEMENTS: unknown[] = [
  REMOVE,
  undefined,
  null,
  true,
  "",
  "x",
  "a b",
  "tab\there",
  "nul\u0000",
  "del\u007f",
  "nbsp\u00a0",
  "é",
  "\u{1F4FA}",
  "x".repeat(128),
  "x".repeat(129),
  "t".repeat(256),
  "t".repeat(257),
  `https://x/${"p".repeat(2038)}`,
  `https://x/${"p".repeat(2039)}`,
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  1799,
  1800,
  3000,
  3001,
  0xffff_ffff,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "watch_progress_update",
  "watchlist_update",
  "preference_update",
  "Add",
  "Remove",
  "Movie",
  "TVShow",
  "TV",
  "Tablet",
  "Paused",
  "Stopped",
  [],
  {},
  ["r", 1],
  ["r", 0],
  ["r", 1, 2],
  [["r", 1]],
  [["r", 1.5]],
  { title: "T", content_type: "Movie" },
  { content_type: "TVShow", year: null, title: "T", poster_url: "u" },
  { a: [1, { b: null }] },
];

function outcome(check: Check<unknown>, input: unknown): Result<unknown> {
  return parseWith(check, input);
}

function expectSame(fast: Check<unknown>, reference: Check<unknown>, input: unknown): boolean {
  const a = outcome(fast, input);
  const b = outcome(reference, input);
  expect(a).toStrictEqual(b);
  if (a.ok && b.ok) {
    // Same keys in the same order, at every level, and the same arrays handed back.
    expect(JSON.stringify(a.value)).toBe(JSON.stringify(b.value));
    const x = a.value as Record<string, unknown>;
    const y = b.value as Record<string, unknown>;
    expect(Object.keys(x)).toEqual(Object.keys(y));
    expect(x.dot).toBe(y.dot);
    expect(x.observed).toBe(y.observed);
  }
  return a.ok;
}

const cases: [string, fc.Arbitrary<unknown>, Check<unknown>, Check<unknown>][] = [
  ["watch_progress_update", watchProgressUpdateArbitrary(), checkWatchProgressUpdate, referenceProgress],
  ["watchlist_update", watchlistUpdateArbitrary(), checkWatchlistUpdate, referenceWatchlist],
  ["preference_update", preferenceUpdateArbitrary(), checkPreferenceUpdate, referencePreference],
];

describe("sync message checks: the fast path agrees with the combinator", () => {
  for (const [type, arbitrary, fast, reference] of cases) {
    test(`${type}: valid messages, the same value`, () => {
      fc.assert(
        fc.property(arbitrary, (message) => {
          expect(expectSame(fast, reference, message)).toBe(true);
          expect(expectSame(fast, reference, JSON.parse(JSON.stringify(message)))).toBe(true);
        }),
      );
    });

    test(`${type}: every single-field corruption, the same value or the same error`, () => {
      let accepted = 0;
      let rejected = 0;
      fc.assert(
        fc.property(arbitrary, fc.nat(), fc.constantFrom(...REPLACEMENTS), (message, pick, replacement) => {
          const paths = [...allPaths(message), ...ADDED_FIELDS];
          const corrupted = withField(message, paths[pick % paths.length]!, replacement);
          if (expectSame(fast, reference, corrupted)) accepted++;
          else rejected++;
        }),
        // Many paths per message: four times the usual runs (FC_RUNS scales it).
        { numRuns: 4 * (fc.readConfigureGlobal().numRuns ?? 100) },
      );
      expect(accepted).toBeGreaterThan(0);
      expect(rejected).toBeGreaterThan(0);
    });
  }

  test("not objects, and objects of another type", () => {
    const inputs: unknown[] = [undefined, null, 1, "x", [], [{}], {}, { msg_type: "heartbeat" }];
    for (const [, , fast, reference] of cases) for (const input of inputs) expectSame(fast, reference, input);
  });

  test("a Remove carrying a dot is rejected with the combinator's error", () => {
    const remove = {
      msg_type: "watchlist_update",
      operation: "Remove",
      content_id: "tmdb:550",
      timestamp: 1,
      device_id: "tv",
      unique_tag: "tv:1",
      dot: ["tv", 1],
    };
    expect(parseWith(checkWatchlistUpdate, remove)).toEqual({
      ok: false,
      error: { path: "dot", reason: "a Remove mints no dot" },
    });
  });

  test("a position past the duration is rejected with the combinator's error", () => {
    const message = {
      msg_type: "watch_progress_update",
      content_id: "tmdb:550",
      progress_seconds: 3000,
      duration_seconds: 2000,
      completion_percent: 1,
      timestamp: 1,
      device_id: "tv",
      device_type: "TV",
      state: "Paused",
    };
    expect(parseWith(checkWatchProgressUpdate, message)).toEqual({
      ok: false,
      error: { path: "progress_seconds", reason: "exceeds duration_seconds (2000)" },
    });
  });
});
