import fc from "fast-check";
import { afterEach, describe, expect, test, vi } from "vitest";
import { MAX_MESSAGE_BYTES } from "../src/messages/common.js";
import {
  decodeMessage,
  encodedByteLength,
  encodeMessage,
  MESSAGE_TYPES,
  type Message,
  parseMessage,
} from "../src/messages/index.js";
import {
  reconciliationRequestId,
  type StateReconciliationRequestMessage,
  type StateReconciliationResponseMessage,
} from "../src/messages/reconciliation.js";
import {
  completionPercent,
  type WatchlistUpdateMessage,
  type WatchProgressUpdateMessage,
  watchlistDot,
  watchlistObserved,
} from "../src/messages/sync.js";
import type { Result } from "../src/result.js";
import {
  messageArbitraries,
  messageArbitrary,
  preferenceUpdateArbitrary,
} from "../src/testing/message-arbitraries.js";
import { SPEC_EXAMPLES } from "./spec-examples.js";

// ---------------------------------------------------------------------------------------------
// The spec's JSON examples, pasted literally (sections 3.1, 3.2, 3.3, 3.4, 6.1).

// ---------------------------------------------------------------------------------------------
// Helpers

type Segment = string | number;
const REMOVE = Symbol("remove");

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A copy of `root` with the node at `path` replaced by `replacement` (or removed). */
function withField(root: unknown, path: readonly Segment[], replacement: unknown): unknown {
  const copy = clone(root);
  let parent = copy as Record<Segment, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<Segment, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === REMOVE) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = replacement;
  return copy;
}

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

function expectInvalid(result: Result<unknown>, path: string, reason?: RegExp): void {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (result.ok) return;
  expect(result.error.path).toBe(path);
  expect(result.error.reason).not.toBe("");
  if (reason !== undefined) expect(result.error.reason).toMatch(reason);
}

function parseJson(text: string): unknown {
  return JSON.parse(text);
}

// Valid bases for the rejection table: the spec's examples and one of each of our shapes.
const progress = parseJson(SPEC_EXAMPLES["3.1 watch_progress_update"]!) as WatchProgressUpdateMessage;
const watchlistAdd = parseJson(SPEC_EXAMPLES["3.2 watchlist_update"]!) as WatchlistUpdateMessage;
const heartbeat = parseJson(SPEC_EXAMPLES["3.3 device_heartbeat"]!) as Message;
const watchlistRemove: WatchlistUpdateMessage = {
  msg_type: "watchlist_update",
  operation: "Remove",
  content_id: "tmdb:550",
  timestamp: 1733500801000000,
  device_id: "phone-ios-alice",
  unique_tag: "0b9f5d7e-1c2a-4e3b-9f8a-7d6c5b4a3921",
  observed: [["tv-samsung-living-room", 3]],
};
const preference = {
  msg_type: "preference_update",
  key: "subtitles.language",
  value: { primary: "en", fallback: ["fr", null] },
  timestamp: 1733500800000000,
  device_id: "tv-samsung-living-room",
};
const notification = {
  msg_type: "user_notification",
  notification_id: "n-1",
  notification_type: { ContentExpiring: { content_id: "tmdb:550", days_remaining: 7 } },
  priority: "High",
  title: "Leaving soon",
  body: "Fight Club leaves Netflix in 7 days.",
  action_url: null,
  timestamp: 1733500800000000,
  expires_at: null,
};
const streamStatus = {
  msg_type: "stream_status",
  platform_id: "netflix",
  status: { Maintenance: { end_time: "2024-12-06T18:00:00Z" } },
  timestamp: 1733500800000000,
  affected_regions: ["us-east"],
  estimated_resolution: null,
};
const analytics = {
  msg_type: "viewing_analytics",
  content_id: "tmdb:550",
  event_type: { Abandoned: { percent_watched: 0.25 } },
  anonymized_user_segment: "sci-fi-enthusiast",
  region: "us-east",
  platform: "netflix",
  timestamp: 1733500800000000,
};
const chat = {
  msg_type: "party_chat",
  party_id: "party-42",
  user_id: "alice",
  user_display_name: "Alice",
  message: { type: "Text", data: { text: "here we go" } },
  timestamp: 1733500800000000,
};
const trending = {
  msg_type: "trending_update",
  timestamp: 1733500800000000,
  items: [{ rank: 1, content_id: "tmdb:550", score: 0.9 }],
};
const pricing = {
  msg_type: "pricing_update",
  region: "uk",
  platform_id: "netflix",
  plan_id: "standard",
  price_minor: 1099,
  currency: "GBP",
  effective_at: "2025-01-01T00:00:00Z",
  timestamp: 1733500800000000,
};
const request: StateReconciliationRequestMessage = {
  msg_type: "state_reconciliation_request",
  device_id: "tv-samsung-living-room",
  last_known_state_timestamp: 1733400000000000,
  requested_states: ["Watchlist", "WatchProgress"],
};
const response: StateReconciliationResponseMessage = {
  msg_type: "state_reconciliation_response",
  watch_progress: [progress],
  watchlist: [{ ...watchlistAdd, dot: ["phone-ios-alice", 4] }],
  preferences: { "subtitles.language": { value: "en", timestamp: 1733500800000000, device_id: "tv" } },
  devices: [heartbeat as StateReconciliationResponseMessage["devices"][number]],
  server_timestamp: 1733500900000000,
  watchlist_context: { "phone-ios-alice": [[1, 4]] },
  chunk: { index: 0, count: 2 },
};

// ---------------------------------------------------------------------------------------------

describe("messages: the spec's examples", () => {
  for (const [name, text] of Object.entries(SPEC_EXAMPLES)) {
    test(`${name} validates unchanged`, () => {
      const input = JSON.parse(text) as unknown;
      expect(parseMessage(input)).toEqual({ ok: true, value: input });
      expect(decodeMessage(text)).toEqual({ ok: true, value: input });
    });
  }
});

describe("messages: round trip", () => {
  test("MESSAGE_TYPES lists each type once, and every type has an arbitrary", () => {
    expect(new Set(MESSAGE_TYPES).size).toBe(MESSAGE_TYPES.length);
    expect(Object.keys(messageArbitraries()).sort()).toEqual([...MESSAGE_TYPES].sort());
  });

  const arbitraries = messageArbitraries();
  for (const type of MESSAGE_TYPES) {
    test(`decodeMessage(encodeMessage(m)) equals m: ${type}`, () => {
      fc.assert(
        fc.property(arbitraries[type] as fc.Arbitrary<Message>, (message) => {
          expect(message.msg_type).toBe(type);
          expect(parseMessage(message)).toEqual({ ok: true, value: message });
          expect(decodeMessage(encodeMessage(message))).toEqual({ ok: true, value: message });
        }),
      );
    });
  }

  test("unknown fields are dropped at every level", () => {
    const input = {
      ...watchlistAdd,
      future_field: 1,
      content_metadata: { ...watchlistAdd.content_metadata, rating: "R" },
    };
    const result = parseMessage(input);
    expect(result).toEqual({ ok: true, value: watchlistAdd });
  });

  test("a __proto__ key in a preference value or map stays data, never a prototype", () => {
    const text = `{"msg_type":"state_reconciliation_response","watch_progress":[],"watchlist":[],"devices":[],
      "server_timestamp":1,"preferences":{"__proto__":{"value":{"__proto__":{"polluted":true}},"timestamp":1,"device_id":"tv"}}}`;
    const result = decodeMessage(text);
    expect(result.ok).toBe(true);
    if (!result.ok || result.value.msg_type !== "state_reconciliation_response") return;
    const preferences = result.value.preferences!;
    expect(Object.getPrototypeOf(preferences)).toBe(Object.prototype);
    expect(Object.hasOwn(preferences, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("messages: corruption never throws", () => {
  const replacements: unknown[] = [
    REMOVE,
    "x",
    "",
    "x".repeat(5000),
    "a b",
    0,
    -1,
    1.5,
    6,
    256,
    2 ** 32,
    2 ** 53,
    1e308,
    true,
    null,
    [],
    {},
    [["r", 1]],
  ];
  const notJson: unknown[] = [Number.NaN, Number.POSITIVE_INFINITY, -0, undefined, Symbol("s"), () => 1, 10n];

  test("every single-field corruption is valid or rejected with a path", () => {
    let rejected = 0;
    let accepted = 0;
    fc.assert(
      fc.property(
        messageArbitrary(),
        fc.nat(),
        fc.constantFrom(...replacements),
        fc.constantFrom(...notJson),
        (message, pick, replacement, weird) => {
          const paths = allPaths(message);
          const path = paths[pick % paths.length]!;
          const corrupted = withField(message, path, replacement);
          const parsed = parseMessage(corrupted);
          if (parsed.ok) accepted++;
          else {
            rejected++;
            expect(parsed.error.path).not.toBe("");
            expect(parsed.error.reason).not.toBe("");
          }
          // The wire agrees with the object form.
          expect(decodeMessage(JSON.stringify(corrupted))).toEqual(parsed);
          // Values JSON cannot carry: handed over as objects, they must still not throw.
          const strange = withField(message, path, REMOVE) as Record<string | number, unknown>;
          let parent = strange;
          for (const segment of path.slice(0, -1))
            parent = parent[segment] as Record<string | number, unknown>;
          parent[path[path.length - 1]!] = weird;
          const result = parseMessage(strange);
          if (!result.ok) expect(result.error.path).not.toBe("");
        },
      ),
      // Many paths per message: four times the usual runs (FC_RUNS scales it).
      { numRuns: 4 * (fc.readConfigureGlobal().numRuns ?? 100) },
    );
    // Both outcomes occur, so the property is not vacuous.
    expect(rejected).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
  });

  test("parseMessage and decodeMessage never throw on anything", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const result = parseMessage(value);
        expect(typeof result.ok).toBe("boolean");
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        expect(typeof decodeMessage(text).ok).toBe("boolean");
      }),
    );
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("boom");
        },
      },
    );
    expectInvalid(parseMessage(hostile), "", /boom/);
    expectInvalid(decodeMessage(42 as unknown as string), "", /JSON text/);
  });
});

describe("messages: rejections name the field", () => {
  const cases: [string, unknown, Segment[], unknown, string, RegExp?][] = [
    ["unknown msg_type", progress, ["msg_type"], "watch_progress", "msg_type", /expected one of/],
    ["missing msg_type", progress, ["msg_type"], REMOVE, "msg_type", /required/],
    ["msg_type from Object.prototype", progress, ["msg_type"], "toString", "msg_type", /expected one of/],
    ["msg_type __proto__", progress, ["msg_type"], "__proto__", "msg_type", /expected one of/],
    ["msg_type of another type", progress, ["msg_type"], 7, "msg_type"],
    ["completion_percent 1.5", progress, ["completion_percent"], 1.5, "completion_percent"],
    ["completion_percent -0.1", progress, ["completion_percent"], -0.1, "completion_percent"],
    ["negative seconds", progress, ["progress_seconds"], -1, "progress_seconds"],
    ["fractional seconds", progress, ["duration_seconds"], 60.5, "duration_seconds"],
    ["seconds past u32", progress, ["duration_seconds"], 2 ** 32, "duration_seconds"],
    ["progress past the duration", progress, ["duration_seconds"], 3000, "progress_seconds", /duration/],
    ["timestamp negative", progress, ["timestamp"], -1, "timestamp"],
    ["timestamp fractional", progress, ["timestamp"], 1733500800000000.5, "timestamp"],
    ["timestamp past MAX_SAFE_INTEGER", progress, ["timestamp"], 2 ** 53, "timestamp"],
    ["timestamp as a string", progress, ["timestamp"], "1733500800000000", "timestamp"],
    ["device_type unknown", progress, ["device_type"], "Fridge", "device_type"],
    ["empty id", progress, ["content_id"], "", "content_id"],
    ["id with a space", progress, ["content_id"], "tmdb 550", "content_id"],
    ["id over 128", progress, ["device_id"], "d".repeat(129), "device_id", /at most 128/],
    ["network_quality 6", heartbeat, ["network_quality"], 6, "network_quality"],
    ["battery_level 1.5", heartbeat, ["battery_level"], 1.5, "battery_level"],
    ["operation unknown", watchlistAdd, ["operation"], "Toggle", "operation"],
    ["year out of range", watchlistAdd, ["content_metadata", "year"], 1799, "content_metadata.year"],
    [
      "title over 256",
      watchlistAdd,
      ["content_metadata", "title"],
      "t".repeat(257),
      "content_metadata.title",
    ],
    [
      "poster_url over 2048",
      watchlistAdd,
      ["content_metadata", "poster_url"],
      "u".repeat(2049),
      "content_metadata.poster_url",
    ],
    ["a dot on a Remove", watchlistRemove, ["dot"], ["tv", 1], "dot", /Remove/],
    ["dot counter 0", watchlistAdd, ["dot"], ["tv", 0], "dot[1]"],
    ["dot replica with a space", watchlistAdd, ["dot"], ["t v", 1], "dot[0]"],
    ["dot of three items", watchlistAdd, ["dot"], ["tv", 1, 2], "dot"],
    ["observed dot fractional", watchlistRemove, ["observed", 0, 1], 1.5, "observed[0][1]"],
    [
      "observed over 4096",
      watchlistRemove,
      ["observed"],
      Array.from({ length: 4097 }, () => ["tv", 1]),
      "observed",
    ],
    ["preference without a value", preference, ["value"], REMOVE, "value", /required/],
    ["preference key over 128", preference, ["key"], "k".repeat(129), "key"],
    [
      "preference value nested 9 deep",
      preference,
      ["value"],
      [[[[[[[[["deep"]]]]]]]]],
      "value[0][0][0][0][0][0][0][0]",
      /deeper than 8/,
    ],
    [
      "notification type as a string",
      notification,
      ["notification_type"],
      "ContentExpiring",
      "notification_type",
    ],
    [
      "days_remaining 256",
      notification,
      ["notification_type", "ContentExpiring", "days_remaining"],
      256,
      "notification_type.ContentExpiring.days_remaining",
    ],
    ["priority unknown", notification, ["priority"], "Urgent", "priority"],
    ["body over 4096", notification, ["body"], "b".repeat(4097), "body"],
    ["expires_at not an HLC", notification, ["expires_at"], -5, "expires_at"],
    [
      "end_time not a date",
      streamStatus,
      ["status", "Maintenance", "end_time"],
      "2024-02-30T00:00:00Z",
      "status.Maintenance.end_time",
    ],
    [
      "estimated_resolution not RFC 3339",
      streamStatus,
      ["estimated_resolution"],
      "tomorrow",
      "estimated_resolution",
    ],
    ["status variant unknown", streamStatus, ["status"], "Exploded", "status"],
    [
      "percent_watched 1.5",
      analytics,
      ["event_type", "Abandoned", "percent_watched"],
      1.5,
      "event_type.Abandoned.percent_watched",
    ],
    ["chat type unknown", chat, ["message", "type"], "Sticker", "message.type"],
    ["empty chat text", chat, ["message", "data", "text"], "", "message.data.text"],
    ["trending rank 0", trending, ["items", 0, "rank"], 0, "items[0].rank"],
    [
      "trending over 100 items",
      trending,
      ["items"],
      Array.from({ length: 101 }, (_, i) => ({ rank: 1, content_id: `c${i}` })),
      "items",
    ],
    ["currency lower case", pricing, ["currency"], "gbp", "currency"],
    ["price as a float", pricing, ["price_minor"], 10.99, "price_minor"],
    ["no state requested", request, ["requested_states"], [], "requested_states"],
    [
      "state requested twice",
      request,
      ["requested_states"],
      ["Watchlist", "Watchlist"],
      "requested_states[1]",
    ],
    ["state unknown", request, ["requested_states", 0], "Everything", "requested_states[0]"],
    ["a Remove as a live entry", response, ["watchlist", 0], watchlistRemove, "watchlist[0].operation"],
    ["chunk index past count", response, ["chunk", "index"], 2, "chunk.index"],
    [
      "context range backwards",
      response,
      ["watchlist_context", "phone-ios-alice", 0],
      [4, 1],
      "watchlist_context.phone-ios-alice[0][1]",
    ],
    [
      "context counter 0",
      response,
      ["watchlist_context", "phone-ios-alice", 0],
      [0, 1],
      "watchlist_context.phone-ios-alice[0][0]",
    ],
    [
      "embedded heartbeat invalid",
      response,
      ["devices", 0, "network_quality"],
      6,
      "devices[0].network_quality",
    ],
    [
      "embedded progress invalid",
      response,
      ["watch_progress", 0, "completion_percent"],
      1.5,
      "watch_progress[0].completion_percent",
    ],
    ["server_timestamp a string", response, ["server_timestamp"], "now", "server_timestamp"],
  ];

  for (const [name, base, path, replacement, errorPath, reason] of cases) {
    test(name, () => {
      expect(parseMessage(base).ok).toBe(true);
      const corrupted = withField(base, path, replacement);
      expectInvalid(parseMessage(corrupted), errorPath, reason);
      const text = JSON.stringify(corrupted);
      // Over 32 KiB the wire rejects it whole, before looking at fields (tested below).
      if (encodedByteLength(text) <= MAX_MESSAGE_BYTES) expectInvalid(decodeMessage(text), errorPath, reason);
    });
  }

  test("duration 0 (unknown) allows any position", () => {
    expect(parseMessage({ ...progress, duration_seconds: 0, completion_percent: 0 }).ok).toBe(true);
  });

  test("non-objects and invalid JSON are rejected at the root", () => {
    expectInvalid(parseMessage(null), "", /object/);
    expectInvalid(parseMessage([progress]), "", /array/);
    expectInvalid(decodeMessage("{"), "", /^invalid JSON/);
    expectInvalid(decodeMessage(""), "", /^invalid JSON/);
    expectInvalid(decodeMessage("null"), "", /object/);
  });
});

describe("messages: the 32 KiB limit", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test("oversized text is rejected before it is parsed", () => {
    const parse = vi.spyOn(JSON, "parse");
    const padded = JSON.stringify({ ...progress, padding: "p".repeat(MAX_MESSAGE_BYTES) });
    expectInvalid(decodeMessage(padded), "", /32768-byte limit/);
    // Under the limit in UTF-16 units, over it in UTF-8 bytes.
    const multiByte = JSON.stringify({ ...progress, padding: "€".repeat(11_000) });
    expect(multiByte.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expectInvalid(decodeMessage(multiByte), "", /32768-byte limit/);
    expect(parse).not.toHaveBeenCalled();
  });

  test("exactly at the limit is accepted", () => {
    const base = JSON.stringify({ ...progress, padding: "" });
    const text = JSON.stringify({ ...progress, padding: "p".repeat(MAX_MESSAGE_BYTES - base.length) });
    expect(encodedByteLength(text)).toBe(MAX_MESSAGE_BYTES);
    expect(decodeMessage(text).ok).toBe(true);
    expectInvalid(decodeMessage(`${text} `), "", /limit/);
  });

  test("encodeMessage throws RangeError for a message over the limit", () => {
    const big: StateReconciliationResponseMessage = {
      ...response,
      watch_progress: Array.from({ length: 200 }, (_, i) => ({ ...progress, content_id: `tmdb:${i}` })),
    };
    expect(parseMessage(big).ok).toBe(true);
    expect(() => encodeMessage(big)).toThrow(RangeError);
  });

  test("encodedByteLength matches TextEncoder, lone surrogates included", () => {
    const encoder = new TextEncoder();
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom("\u{1F4FA}", "\uD800", "\uDFFF", "é", "€"),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), (text) => {
        expect(encodedByteLength(text)).toBe(encoder.encode(text).length);
      }),
    );
  });
});

describe("messages: defaults", () => {
  test("a watchlist Add without a dot mints [unique_tag, 1]; a Remove without observed removes that tag", () => {
    expect(watchlistDot(watchlistAdd)).toEqual([watchlistAdd.unique_tag, 1]);
    expect(watchlistObserved(watchlistAdd)).toEqual([]);
    const { observed: _, ...bareRemove } = watchlistRemove;
    expect(watchlistObserved(bareRemove)).toEqual([[watchlistRemove.unique_tag, 1]]);
    expect(watchlistObserved(watchlistRemove)).toEqual(watchlistRemove.observed);
    expect(watchlistDot({ ...watchlistAdd, dot: ["tv", 9] })).toEqual(["tv", 9]);
  });

  test("request_id defaults to device_id:last_known_state_timestamp", () => {
    expect(reconciliationRequestId(request)).toBe("tv-samsung-living-room:1733400000000000");
    expect(reconciliationRequestId({ ...request, request_id: "r-1" })).toBe("r-1");
  });

  test("completionPercent is 0 for an unknown duration and stays in 0..1", () => {
    expect(completionPercent(100, 0)).toBe(0);
    expect(completionPercent(50, 200)).toBe(0.25);
    expect(completionPercent(300, 200)).toBe(1);
    expect(() => completionPercent(Number.NaN, 10)).toThrow(RangeError);
    expect(() => completionPercent(1, -1)).toThrow(RangeError);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (p, d) => {
        const c = completionPercent(p, d);
        expect(c >= 0 && c <= 1).toBe(true);
      }),
    );
  });
});

describe("regressions found by fast-check", () => {
  test("FC_SEED=-122521466: a preference value of -0 travels as 0 (JSON has no -0), and the arbitrary no longer makes one", () => {
    const message = {
      msg_type: "preference_update",
      key: "volume",
      value: [-0],
      timestamp: 1,
      device_id: "tv",
    } as const;
    const decoded = decodeMessage(encodeMessage(message));
    expect(decoded.ok && (decoded.value as { value: unknown }).value).toEqual([0]);
    fc.assert(
      fc.property(preferenceUpdateArbitrary(), (m) => {
        expect(JSON.parse(JSON.stringify(m))).toEqual(m);
      }),
      { seed: -122521466 },
    );
  });
});
