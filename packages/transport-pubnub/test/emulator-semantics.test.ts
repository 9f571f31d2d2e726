/**
 * The emulator on its own, over raw HTTP (no SDK), against PubNub's documented semantics, one
 * scenario at a time: presence timeouts and intervals, group delivery, token patterns, history
 * ranges and retention, timetokens, CBOR. So the adapter's tests do not merely agree with a
 * server written to match them. Time is injected: presence and retention run on a fake clock.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CborValue, cborDecode, cborEncode, verifyToken } from "../src/emulator/index.js";
import { PUB_KEY, SECRET_KEY, SUB_KEY, startEmulator } from "./helpers.js";

interface Clock {
  now: number;
}

async function setupClock(options: Parameters<typeof startEmulator>[0] = {}) {
  const clock: Clock = { now: Date.UTC(2025, 0, 1) };
  const emulator = await startEmulator({ now: () => clock.now, ...options });
  const base = `http://${emulator.origin}`;
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
  };
  return { clock, emulator, get };
}

type Envelope = {
  c: string;
  b?: string;
  d: Record<string, unknown>;
  p: { t: string };
  i?: string;
  e?: number;
};

/** Handshake on `channels`, returning a function that reads everything newer than the cursor so far. */
async function presenceReader(
  get: Awaited<ReturnType<typeof setupClock>>["get"],
  channels: string,
  query = "",
) {
  const hs = await get(`/v2/subscribe/${SUB_KEY}/${channels}/0?uuid=watcher${query}`);
  let cursor = (hs.body as unknown as { t: { t: string } }).t.t;
  return async (): Promise<Envelope[]> => {
    const res = await get(`/v2/subscribe/${SUB_KEY}/${channels}/0?uuid=watcher&tt=${cursor}&tr=1${query}`, {
      signal: AbortSignal.timeout(300),
    }).catch(() => undefined);
    if (res === undefined) return [];
    const body = res.body as unknown as { t: { t: string }; m: Envelope[] };
    cursor = body.t.t;
    return body.m;
  };
}

describe("emulator: presence (PubNub presence docs; research §5.5–5.9, §6, §11)", () => {
  it("times a client out after the heartbeat it announced, not before; occupancy counts down", async () => {
    const { clock, emulator, get } = await setupClock({ subscribeHoldMs: 100 });
    const read = await presenceReader(get, "room-pnpres");
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=a&heartbeat=60`);
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=b&heartbeat=60`);
    clock.now += 30_000;
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=b&heartbeat=60`);
    clock.now += 31_000; // a: 61 s quiet, b: 31 s
    emulator.sweepPresence();
    const events = await read();
    expect(events.map((e) => [e.d.action, e.d.uuid, e.d.occupancy])).toEqual([
      ["join", "a", 1],
      ["join", "b", 2],
      ["timeout", "a", 1],
    ]);
    expect(events.every((e) => e.c === "room-pnpres" && e.b === "room-pnpres" && e.i === undefined)).toBe(
      true,
    );
    expect(emulator.occupants("room")).toEqual(["b"]);
  });

  it("raises an announced timeout below the minimum (20 s) and keeps it across subscribes without one", async () => {
    const { clock, emulator, get } = await setupClock();
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=a&heartbeat=5`);
    clock.now += 15_000;
    emulator.sweepPresence();
    expect(emulator.occupants("room")).toEqual(["a"]);
    // A handshake without heartbeat= must not reset the timeout to 300 s (§11).
    await get(`/v2/subscribe/${SUB_KEY}/room/0?uuid=a`);
    clock.now += 21_000;
    emulator.sweepPresence();
    expect(emulator.occupants("room")).toEqual([]);
  });

  it("an open long-poll keeps its client present; once it ends, the timeout runs", async () => {
    const { clock, emulator, get } = await setupClock();
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=a&heartbeat=30`);
    const hs = await get(`/v2/subscribe/${SUB_KEY}/room/0?uuid=a`);
    const tt = (hs.body as unknown as { t: { t: string } }).t.t;
    const abort = new AbortController();
    const poll = fetch(`http://${emulator.origin}/v2/subscribe/${SUB_KEY}/room/0?uuid=a&tt=${tt}&tr=1`, {
      signal: abort.signal,
    }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.heldPolls).toBe(1);
    clock.now += 600_000;
    emulator.sweepPresence();
    expect(emulator.occupants("room")).toEqual(["a"]);
    abort.abort();
    await poll;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.heldPolls).toBe(0);
    clock.now += 29_000;
    emulator.sweepPresence();
    expect(emulator.occupants("room")).toEqual(["a"]);
    clock.now += 2_000;
    emulator.sweepPresence();
    expect(emulator.occupants("room")).toEqual([]);
  });

  it("leave is immediate; state arrives in the join, a new state is one state-change, the same state none", async () => {
    const { get } = await setupClock({ subscribeHoldMs: 100 });
    const read = await presenceReader(get, "room-pnpres");
    const state = encodeURIComponent(JSON.stringify({ room: { mood: "happy" } }));
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=a&heartbeat=60&state=${state}`);
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=a&heartbeat=60&state=${state}`);
    const sad = encodeURIComponent(JSON.stringify({ mood: "sad" }));
    const set = await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/uuid/a/data?uuid=a&state=${sad}`);
    expect(set.body).toMatchObject({ status: 200, payload: { mood: "sad" } });
    const got = await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/uuid/a?uuid=a`);
    expect(got.body).toMatchObject({ payload: { mood: "sad" } });
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/leave?uuid=a`);
    const events = await read();
    expect(events.map((e) => [e.d.action, e.d.data ?? null])).toEqual([
      ["join", { mood: "happy" }],
      ["state-change", { mood: "sad" }],
      ["leave", null],
    ]);
  });

  it("here-now: flat for one channel, payload for several and for groups, global without a channel", async () => {
    const { get } = await setupClock();
    await get(`/v1/channel-registration/sub-key/${SUB_KEY}/channel-group/g?add=x%2Cy&uuid=s`);
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/x,y/heartbeat?uuid=a&heartbeat=60`);
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/x/heartbeat?uuid=b&heartbeat=60`);
    const flat = await get(`/v2/presence/sub-key/${SUB_KEY}/channel/x?uuid=s`);
    expect(flat.body).toMatchObject({ status: 200, occupancy: 2, uuids: ["a", "b"] });
    const grouped = await get(
      `/v2/presence/sub-key/${SUB_KEY}/channel/,?uuid=s&channel-group=g&disable_uuids=1`,
    );
    expect(grouped.body).toMatchObject({
      payload: {
        total_channels: 2,
        total_occupancy: 3,
        channels: { x: { occupancy: 2 }, y: { occupancy: 1 } },
      },
    });
    const global = await get(`/v2/presence/sub-key/${SUB_KEY}?uuid=s`);
    expect((global.body as unknown as { payload: { total_occupancy: number } }).payload.total_occupancy).toBe(
      3,
    );
    const where = await get(`/v2/presence/sub-key/${SUB_KEY}/uuid/a?uuid=s`);
    expect(where.body).toMatchObject({ payload: { channels: ["x", "y"] } });
  });

  it("switches a crowded channel to interval mode: one interval event with the deltas", async () => {
    const { clock, emulator, get } = await setupClock({
      presence: { announceMax: 2, intervalSeconds: 10 },
      subscribeHoldMs: 100,
    });
    const read = await presenceReader(get, "room-pnpres");
    for (const uuid of ["a", "b", "c", "d"])
      await get(`/v2/presence/sub-key/${SUB_KEY}/channel/room/heartbeat?uuid=${uuid}&heartbeat=60`);
    clock.now += 10_000;
    emulator.sweepPresence();
    const events = await read();
    expect(events.map((e) => e.d.action)).toEqual(["join", "join", "interval"]);
    expect(events[2]?.d).toMatchObject({ occupancy: 4, join: ["c", "d"], here_now_refresh: false });
  });
});

describe("emulator: subscribe delivery (research §5.4)", () => {
  it("through a group: b is the group, c the channel; presence through the group's -pnpres", async () => {
    const { get } = await setupClock({ subscribeHoldMs: 200 });
    await get(`/v1/channel-registration/sub-key/${SUB_KEY}/channel-group/g?add=x%2Cy&uuid=s`);
    const hs = await get(`/v2/subscribe/${SUB_KEY}/,/0?uuid=w&channel-group=g%2Cg-pnpres`);
    const tt = (hs.body as unknown as { t: { t: string } }).t.t;
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/x/0/${encodeURIComponent('{"n":1}')}?uuid=p`);
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/z/0/${encodeURIComponent('{"n":2}')}?uuid=p`);
    await get(`/v2/presence/sub-key/${SUB_KEY}/channel/y/heartbeat?uuid=a&heartbeat=60`);
    const res = await get(`/v2/subscribe/${SUB_KEY}/,/0?uuid=w&tt=${tt}&tr=1&channel-group=g%2Cg-pnpres`);
    const m = (res.body as unknown as { m: Envelope[] }).m;
    // w itself joined x and y through the group before any of this.
    const own = m.filter((e) => e.c.endsWith("-pnpres") && e.d.uuid === "w");
    expect(own.map((e) => [e.c, e.b])).toEqual([
      ["x-pnpres", "g-pnpres"],
      ["y-pnpres", "g-pnpres"],
    ]);
    const rest = m.filter((e) => !own.includes(e));
    expect(rest.map((e) => [e.c, e.b, e.e ?? null])).toEqual([
      ["x", "g", null],
      ["y-pnpres", "g-pnpres", null],
    ]);
    expect(rest[0]).toMatchObject({ d: { n: 1 }, i: "p", k: SUB_KEY });
  });

  it("issues strictly increasing 17-digit timetokens even when the clock stands still", async () => {
    const { get } = await setupClock();
    const tts: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/room/0/1?uuid=p`);
      expect(res.body[2]).toMatch(/^[0-9]{17}$/);
      tts.push(BigInt(res.body[2] as string));
    }
    for (let i = 1; i < tts.length; i++) expect(tts[i]! - tts[i - 1]!).toBe(1n);
  });
});

describe("emulator: history and retention (spec 9.1, research §5.10)", () => {
  it("keeps spec 9.1's count per channel: user.{id}.devices keeps the newest 25", async () => {
    const { emulator, get } = await setupClock();
    for (let i = 0; i < 30; i++) await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/user.u.devices/0/${i}?uuid=p`);
    expect(emulator.storedMessages("user.u.devices").map((m) => m.message)).toEqual(
      [...Array(25).keys()].map((k) => k + 5),
    );
    const res = await get(`/v3/history/sub-key/${SUB_KEY}/channel/user.u.devices?uuid=p&max=100`);
    expect(
      (res.body as unknown as { channels: Record<string, unknown[]> }).channels["user.u.devices"],
    ).toHaveLength(25);
  });

  it("drops messages older than the channel's duration, or than a publish's own ttl (hours)", async () => {
    const { clock, emulator, get } = await setupClock();
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/user.u.devices/0/1?uuid=p`);
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/user.u.sync/0/2?uuid=p&ttl=1`);
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/user.u.sync/0/3?uuid=p`);
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/analytics.viewing/0/4?uuid=p`);
    clock.now += 3_600_001;
    expect(emulator.storedMessages("user.u.devices")).toEqual([]);
    expect(emulator.storedMessages("user.u.sync").map((m) => m.message)).toEqual([3]);
    expect(emulator.storedMessages("analytics.viewing")).toEqual([]);
    clock.now += 23 * 3_600_000;
    expect(emulator.storedMessages("user.u.sync")).toEqual([]);
  });

  it("history ranges: start exclusive, end inclusive; several channels cap at 25 each", async () => {
    const { get } = await setupClock();
    const tts: string[] = [];
    for (let i = 0; i < 40; i++)
      tts.push((await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/room/0/${i}?uuid=p`)).body[2] as string);
    await get(`/publish/${PUB_KEY}/${SUB_KEY}/0/other/0/99?uuid=p`);
    const range = await get(
      `/v3/history/sub-key/${SUB_KEY}/channel/room?uuid=p&start=${tts[20]}&end=${tts[10]}`,
    );
    const items = (
      range.body as unknown as { channels: Record<string, Array<{ message: number; timetoken: string }>> }
    ).channels.room!;
    expect(items.map((i) => i.message)).toEqual([...Array(10).keys()].map((k) => k + 10));
    expect(items[0]?.timetoken).toBe(tts[10]);
    const multi = await get(`/v3/history/sub-key/${SUB_KEY}/channel/room,other?uuid=p`);
    const channels = (multi.body as unknown as { channels: Record<string, unknown[]> }).channels;
    expect(channels.room).toHaveLength(25);
    expect(channels.other).toHaveLength(1);
  });
});

describe("emulator: Access Manager (research §5.14)", () => {
  const keysets = [{ subscribeKey: SUB_KEY, publishKey: PUB_KEY, secretKey: SECRET_KEY }];

  it("patterns are regular expressions; an exact resource decides alone; the 403 names what was refused", async () => {
    const { emulator, get } = await setupClock({ keysets });
    const token = emulator.grantToken({
      ttlMinutes: 60,
      resources: { channels: { "user.u1.notifications": 1 } },
      patterns: { channels: { "^user\\.u1\\.[^.]+$": 3, "^global\\.[^.]+$": 1 } },
    });
    const pub = (channel: string) =>
      get(`/publish/${PUB_KEY}/${SUB_KEY}/0/${channel}/0/1?uuid=d&auth=${token}`);
    expect((await pub("user.u1.sync")).status).toBe(200);
    const refused = await pub("user.u1.notifications");
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      payload: { channels: ["user.u1.notifications"] },
      service: "Access Manager",
    });
    expect((await pub("global.trending")).status).toBe(403);
    const read = (channel: string) =>
      get(`/v3/history/sub-key/${SUB_KEY}/channel/${channel}?uuid=d&auth=${token}`);
    expect((await read("global.trending")).status).toBe(200);
    expect((await read("globalXtrending")).status).toBe(403);
    expect((await read("user.u2.sync")).status).toBe(403);
  });

  it("tokens: expired after ttl minutes, refused once revoked (revoke needs the secret key), forged ones fail", async () => {
    const { clock, emulator, get } = await setupClock({ keysets });
    const token = emulator.grantToken({ ttlMinutes: 2, resources: { channels: { room: 3 } } });
    const pub = (t: string) =>
      get(`/publish/${PUB_KEY}/${SUB_KEY}/0/room/0/1?uuid=d&auth=${encodeURIComponent(t)}`);
    expect((await pub(token)).status).toBe(200);
    const parsed = verifyToken(SECRET_KEY, token)!;
    expect(parsed.resources.channels).toEqual({ room: 3 });
    expect(verifyToken("another-secret", token)).toBeUndefined();
    // Flip one bit of the CBOR: the signature no longer matches.
    const bytes = Buffer.from(token.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    bytes[bytes.length - 40]! ^= 1;
    expect((await pub(bytes.toString("base64url"))).status).toBe(403);
    expect((await get(`/v3/pam/${SUB_KEY}/grant/${token}?uuid=d`, { method: "DELETE" })).status).toBe(403);
    clock.now += 121_000;
    expect((await pub(token)).body).toMatchObject({ message: "Token is expired." });
  });

  it("CBOR round-trips every value the token uses", () => {
    const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: "small" },
        fc.integer(),
        fc.maxSafeInteger(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.double({ noNaN: true }).filter((d) => !Number.isSafeInteger(d) && !Object.is(d, -0)),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(tie("v"), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie("v"), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        expect(cborDecode(cborEncode(v))).toEqual(v);
      }),
    );
  });
});
