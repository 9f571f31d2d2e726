/**
 * Whatever a client sends, the hub answers it and keeps serving (issue 6 §4: bad input is
 * answered by an error frame or a close code "while the hub keeps serving others"), as a
 * property: fast-check writes frame sequences, from random text and JSON of any shape to
 * request-shaped objects whose every field may have the wrong type, size or name. Each run opens
 * a socket with a spec 11.1 user token, sends the frames, then a ping. What must hold:
 *
 * - no request made the hub throw: it logs `internal-error` for any exception a request causes,
 *   and none may appear (a failing seed names the frames that did it);
 * - every frame the hub sent back is documented: a delivery, or a reply `{ id, ok }` whose error
 *   carries a known code and a message;
 * - the socket answers the closing ping, unless the hub closed it with a documented code;
 * - a bystander on another socket is still served, and what it published before is still in
 *   history, unchanged.
 */
import { userChannelGroup } from "@mg-sync/crdt-core";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket } from "ws";
import { CLOSE_PROTOCOL_ERROR, HUB_ERROR_CODES } from "../src/index.js";
import { userToken } from "../src/server/index.js";
import { closeAll, type Frame, type RawClient, raw, SECRET, type StartedHub, startHub } from "./support.js";

const USER = "alice";
const token = (): string => userToken(SECRET, USER).token;

/** Names a fuzzed field may carry: granted, refused, malformed, reserved, huge. */
const name = fc.constantFrom(
  "user.alice.sync",
  "user.alice.devices",
  "user.bob.sync",
  "global.trending",
  "region.eu",
  "user.alice.devices-pnpres",
  "user-alice",
  "",
  " ",
  "a,b",
  "ch.*",
  "x".repeat(300),
  "ü.ñ.😀",
);

const anyField = fc.oneof(
  name,
  fc.array(name, { maxLength: 4 }),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(name, fc.oneof(fc.string({ maxLength: 20 }), fc.integer()), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const group = fc.constantFrom(userChannelGroup(USER), userChannelGroup("bob"), "cg-other", "", "cg.*");
const names = fc.array(name, { maxLength: 4 });
const timetoken = fc.oneof(
  fc.bigInt({ min: 0n, max: 99_999_999_999_999_999n }).map(String),
  fc.constantFrom("0", "-1", "1e5", "abc", ""),
);
const json = fc.jsonValue({ maxDepth: 3 });

/** One well-formed request per op, before mutation: what a real (if confused) client sends. */
const wellFormed = fc.oneof(
  fc.record({ op: fc.constant("ping") }),
  fc.record(
    {
      op: fc.constant("publish"),
      channel: name,
      payload: json,
      meta: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      store: fc.boolean(),
    },
    { requiredKeys: ["op", "channel", "payload"] },
  ),
  fc.record(
    {
      op: fc.constant("subscribe"),
      channels: names,
      groups: fc.array(group, { maxLength: 2 }),
      presence: fc.boolean(),
      since: fc.dictionary(name, timetoken, { maxKeys: 3 }),
    },
    { requiredKeys: ["op"] },
  ),
  fc.record(
    { op: fc.constant("unsubscribe"), channels: names, groups: fc.array(group, { maxLength: 2 }) },
    { requiredKeys: ["op"] },
  ),
  fc.record(
    {
      op: fc.constant("history"),
      channel: name,
      start: timetoken,
      end: timetoken,
      count: fc.integer({ min: -5, max: 200 }),
    },
    { requiredKeys: ["op", "channel"] },
  ),
  fc.record(
    {
      op: fc.constant("heartbeat"),
      channels: names,
      groups: fc.array(group, { maxLength: 2 }),
      interval: fc.integer({ min: -1, max: 4_000 }),
      state: json,
    },
    { requiredKeys: ["op", "interval"] },
  ),
  fc.record({ op: fc.constant("setState"), channels: names, state: json }),
  fc.record(
    { op: fc.constant("hereNow"), channels: names, state: fc.boolean() },
    { requiredKeys: ["op", "channels"] },
  ),
  fc.record({ op: fc.constant("leave"), channels: names, groups: fc.array(group, { maxLength: 2 }) }),
  fc.record({ op: fc.constantFrom("groupAdd", "groupRemove"), group, channels: names }),
  fc.record({ op: fc.constantFrom("groupList", "groupDelete"), group }),
  fc.record({ op: fc.constant("hello"), protocol: fc.constant(1), clientId: fc.string({ maxLength: 10 }) }),
);

const FIELDS = [
  "op",
  "id",
  "channel",
  "channels",
  "groups",
  "group",
  "payload",
  "meta",
  "store",
  "since",
  "start",
  "end",
  "count",
  "interval",
  "state",
  "presence",
  "protocol",
  "clientId",
  "token",
] as const;

/** A well-formed request with up to two fields replaced by anything or removed, and an id. */
const requestFrame = fc
  .tuple(
    wellFormed,
    fc.oneof(
      { weight: 8, arbitrary: fc.nat(1_000_000) },
      {
        weight: 1,
        arbitrary: fc.oneof(fc.constant(-1), fc.double(), fc.string({ maxLength: 5 }), fc.constant(null)),
      },
    ),
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(anyField, { nil: undefined })), { maxLength: 2 }),
  )
  .map(([request, id, mutations]) => {
    const out: Record<string, unknown> = { ...request, id };
    for (const [field, value] of mutations) {
      if (value === undefined) delete out[field];
      else out[field] = value;
    }
    return JSON.stringify(out);
  });

const frame = fc.oneof(
  { weight: 8, arbitrary: requestFrame },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const KNOWN_CODES = new Set<string>(HUB_ERROR_CODES);
/** What the hub may close a fuzzing socket with: too many malformed frames. */
const ALLOWED_CLOSES = new Set([CLOSE_PROTOCOL_ERROR]);

let started: StartedHub;
let bystander: RawClient;
let kept: Frame;

beforeAll(async () => {
  // History never evicts during the run, so the bystander's message can only vanish by a bug.
  started = await startHub({ retention: () => ({ count: 1_000_000, durationMs: 3_600_000 }) });
  bystander = await raw(started.url, "bystander", token());
  kept = await bystander.request({ op: "publish", channel: "user.alice.sync", payload: { kept: true } });
  expect(kept.ok).toBe(true);
});

afterAll(closeAll);

/** Documented shapes only: deliveries and status events, or replies with a known error. */
function undocumented(frames: readonly Frame[]): Frame[] {
  return frames.filter((f) => {
    if (f.type === "message" || f.type === "presence" || f.type === "status") return false;
    if (f.ok === true) return !("result" in f);
    if (f.ok !== false) return true;
    const error = f.error as { code?: unknown; message?: unknown } | undefined;
    return !(
      typeof error?.code === "string" &&
      KNOWN_CODES.has(error.code) &&
      typeof error.message === "string" &&
      error.message.length > 0
    );
  });
}

it("answers any sequence of frames without throwing, and keeps serving", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 12 }), async (frames) => {
      const client = await raw(started.url, "fuzzer", token());
      for (const text of frames) client.sendRaw(text);
      const pingId = 9_999_999;
      const outcome = await Promise.race([
        client.request({ op: "ping", id: pingId }, 5_000).then(() => "answered" as const),
        client.closed.then(() => "closed" as const),
      ]);
      if (outcome === "closed") expect(ALLOWED_CLOSES).toContain(client.closeCode);
      expect(undocumented(client.frames)).toEqual([]);
      expect(started.logs.filter((e) => e.event === "internal-error")).toEqual([]);
      client.socket.terminate();
      expect((await bystander.request({ op: "ping" })).ok).toBe(true);
    }),
    { numRuns: 80 },
  );
  const history = await bystander.request({ op: "history", channel: "user.alice.sync", count: 100 });
  const messages = (history.result as { messages: Array<{ timetoken: string; payload: unknown }> }).messages;
  const timetoken = (kept.result as { timetoken: string }).timetoken;
  expect(messages.find((m) => m.timetoken === timetoken)?.payload).toEqual({ kept: true });
  expect(bystander.socket.readyState).toBe(WebSocket.OPEN);
}, 60_000);
