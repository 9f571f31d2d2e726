/**
 * The emulator is a server other PubNub users may point their tests at, so bad input must be
 * answered, never crash it: as a property, fast-check sends requests to every endpoint (right
 * and wrong methods, known and unknown keys, odd and malformed names, every query parameter the
 * SDK uses with values of any shape, bodies of any text) to one emulator with an open keyset
 * and one under Access Manager. What must hold: no answer is a 500 (the emulator answers 500
 * only for an exception it did not expect, or a fault a test injected, and none is injected
 * here), every answer is JSON, and `/time` and a stored message are still served afterwards.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PubNubEmulator } from "../src/emulator/index.js";

const OPEN = { subscribeKey: "sub-c-open", publishKey: "pub-c-open" };
const GUARDED = { subscribeKey: "sub-c-am", publishKey: "pub-c-am", secretKey: "sec-c-am" };

/** A channel no fuzzed request names, so nothing the fuzz may do (delete, evict) touches it. */
const KEPT = "kept.outside-the-fuzz";

let emulator: PubNubEmulator;
let token: string;
let keptTimetoken: string;

beforeAll(async () => {
  emulator = await PubNubEmulator.start({ keysets: [OPEN, GUARDED], subscribeHoldMs: 50 });
  token = emulator.grantToken(
    { ttlMinutes: 60, resources: { channels: { "room.a": 3 } }, patterns: { channels: { "room\\..*": 1 } } },
    GUARDED.subscribeKey,
  );
  const stored = await get(
    `/publish/${OPEN.publishKey}/${OPEN.subscribeKey}/0/${KEPT}/0/${encodeURIComponent('{"kept":true}')}`,
  );
  expect(stored.status).toBe(200);
  keptTimetoken = (JSON.parse(stored.text) as [number, string, string])[2];
});

afterAll(async () => {
  await emulator?.stop();
});

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://${emulator.origin}${path}`, {
    ...init,
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, text: await response.text() };
}

/** A path segment: sensible, odd, reserved, malformed, or random. */
const segment = fc.oneof(
  fc.constantFrom("room.a", "room.b", "room.a,room.b"),
  fc.constantFrom(
    "room.a",
    "room.b",
    "room.a,room.b",
    "room.a-pnpres",
    ",",
    "",
    "%ZZ",
    "%2F",
    "a%2Cb",
    "😀",
    "x".repeat(200),
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const subKey = fc.oneof(
  { weight: 4, arbitrary: fc.constant(OPEN.subscribeKey) },
  { weight: 2, arbitrary: fc.constant(GUARDED.subscribeKey) },
  { weight: 1, arbitrary: fc.constantFrom("sub-c-unknown", "") },
);
const pubKey = fc.oneof(
  { weight: 4, arbitrary: fc.constant(OPEN.publishKey) },
  { weight: 1, arbitrary: fc.constantFrom(GUARDED.publishKey, "pub-c-unknown") },
);

const PARAMS = [
  "uuid",
  "auth",
  "tt",
  "tr",
  "heartbeat",
  "state",
  "channel-group",
  "filter-expr",
  "max",
  "start",
  "end",
  "include_meta",
  "include_uuid",
  "include_message_type",
  "include_custom_message_type",
  "timetoken",
  "channelsTimetoken",
  "add",
  "remove",
  "store",
  "ttl",
  "meta",
  "disable_uuids",
  "include_state",
  "signature",
  "timestamp",
  "norep",
  "custom_message_type",
] as const;

const paramValue = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "-1",
    "true",
    "false",
    "17000000000000000",
    "1e400",
    "NaN",
    "{}",
    '{"a":1}',
    "[1,2]",
  ),
  fc.constant(() => token).map((t) => t()),
  fc.string({ maxLength: 20 }),
  fc.json({ maxDepth: 2 }),
);

const query = fc
  .dictionary(fc.constantFrom(...PARAMS), paramValue, { maxKeys: 5 })
  .map((params) => new URLSearchParams(params).toString());

/** Every endpoint's path shape, with its segments drawn from the above. */
const path = fc.oneof(
  fc.constant("/time/0"),
  fc
    .tuple(
      fc.constantFrom("publish", "signal"),
      pubKey,
      subKey,
      segment,
      fc.oneof(
        { weight: 3, arbitrary: fc.json().map(encodeURIComponent) },
        { weight: 1, arbitrary: segment },
      ),
    )
    .map(([kind, pub, sub, channel, message]) => `/${kind}/${pub}/${sub}/0/${channel}/0/${message}`),
  fc.tuple(pubKey, subKey, segment).map(([pub, sub, channel]) => `/publish/${pub}/${sub}/0/${channel}/0`),
  fc.tuple(subKey, segment).map(([sub, channels]) => `/v2/subscribe/${sub}/${channels}/0`),
  fc
    .tuple(
      subKey,
      fc.constantFrom("", "/channel/room.a", "/channel/room.a,room.b"),
      fc.constantFrom("", "/heartbeat", "/leave"),
    )
    .map(([sub, channels, tail]) => `/v2/presence/sub-key/${sub}${channels}${channels === "" ? "" : tail}`),
  fc
    .tuple(subKey, segment, segment, fc.boolean())
    .map(
      ([sub, channels, uuid, data]) =>
        `/v2/presence/sub-key/${sub}/channel/${channels}/uuid/${uuid}${data ? "/data" : ""}`,
    ),
  fc.tuple(subKey, segment).map(([sub, uuid]) => `/v2/presence/sub-key/${sub}/uuid/${uuid}`),
  fc
    .tuple(
      fc.constantFrom("history", "history-with-actions"),
      subKey,
      fc.constantFrom("channel", "message-counts"),
      segment,
    )
    .map(([kind, sub, what, channels]) => `/v3/${kind}/sub-key/${sub}/${what}/${channels}`),
  fc
    .tuple(subKey, fc.option(segment, { nil: undefined }), fc.boolean())
    .map(
      ([sub, group, remove]) =>
        `/v1/channel-registration/sub-key/${sub}/channel-group${group === undefined ? "" : `/${group}${remove ? "/remove" : ""}`}`,
    ),
  fc
    .tuple(subKey, fc.option(segment, { nil: undefined }))
    .map(([sub, revoked]) => `/v3/pam/${sub}/grant${revoked === undefined ? "" : `/${revoked}`}`),
  fc.string({ maxLength: 30 }).map((text) => `/${encodeURIComponent(text)}`),
);

const request = fc.record({
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constant("GET") },
    { weight: 2, arbitrary: fc.constantFrom("POST", "DELETE", "PATCH") },
  ),
  path,
  query,
  body: fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 40 })),
});

it("answers any request without a 500, and keeps serving", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 8 }), async (requests) => {
      for (const { method, path: p, query: q, body } of requests) {
        const hasBody = method !== "GET";
        const answer = await get(`${p}${q === "" ? "" : `?${q}`}`, {
          method,
          ...(hasBody ? { body, headers: { "Content-Type": "application/json" } } : {}),
        });
        expect(answer.status, `${method} ${p}?${q} → ${answer.text}`).not.toBe(500);
        expect(() => JSON.parse(answer.text), `${method} ${p}?${q} answered non-JSON`).not.toThrow();
      }
      expect((await get("/time/0")).status).toBe(200);
    }),
    { numRuns: 120 },
  );
  const history = await get(`/v3/history/sub-key/${OPEN.subscribeKey}/channel/${KEPT}?max=100`);
  const messages = (
    JSON.parse(history.text) as { channels: Record<string, Array<{ timetoken: string; message: unknown }>> }
  ).channels[KEPT];
  expect(messages?.find((m) => m.timetoken === keptTimetoken)?.message).toEqual({ kept: true });
}, 60_000);
