/**
 * The emulator's core endpoints with the real SDK over HTTP: time, publish (GET and deflated
 * POST), signal, subscribe v2 (handshake, receive, envelopes, 100-per-answer paging, aborts),
 * history v3, message counts, delete.
 */
import { describe, expect, it } from "vitest";
import { record, SUB_KEY, sdkClient, startEmulator, subscribeAndConnect, waitFor } from "./helpers.js";

describe("emulator core, driven by the real SDK", () => {
  it("answers /time with a 17-digit string timetoken that increases", async () => {
    const emulator = await startEmulator();
    const client = sdkClient(emulator, "alice");
    const a = await client.time();
    const b = await client.time();
    expect(typeof a.timetoken).toBe("string");
    expect(String(a.timetoken)).toMatch(/^[0-9]{17}$/);
    expect(BigInt(b.timetoken) >= BigInt(a.timetoken)).toBe(true);
  });

  it("publishes by GET and by deflated POST; strictly increasing timetokens; both reach history", async () => {
    const emulator = await startEmulator();
    const get = sdkClient(emulator, "alice");
    const post = sdkClient(emulator, "bob");
    const r1 = await get.publish({ channel: "room", message: { n: 1 }, meta: { k: "v" } });
    const r2 = await post.publish({
      channel: "room",
      message: { n: 2, text: "héllo, wörld/∑" },
      sendByPost: true,
    });
    const r3 = await get.publish({ channel: "room", message: "plain string" });
    expect(BigInt(r1.timetoken) < BigInt(r2.timetoken)).toBe(true);
    expect(BigInt(r2.timetoken) < BigInt(r3.timetoken)).toBe(true);
    const methods = emulator.requests.filter((r) => r.endpoint === "publish").map((r) => r.method);
    expect(methods).toEqual(["GET", "POST", "GET"]);
    const history = await get.fetchMessages({ channels: ["room"], includeMeta: true });
    const items = history.channels.room ?? [];
    expect(items.map((i) => i.message)).toEqual([{ n: 1 }, { n: 2, text: "héllo, wörld/∑" }, "plain string"]);
    expect(items.map((i) => i.timetoken)).toEqual([r1.timetoken, r2.timetoken, r3.timetoken]);
    expect(items[0]?.uuid).toBe("alice");
    expect(items[1]?.uuid).toBe("bob");
    expect(items[0]?.meta).toEqual({ k: "v" });
  });

  it("keeps names with reserved characters intact (split before decoding)", async () => {
    const emulator = await startEmulator();
    const client = sdkClient(emulator, "alice");
    const channel = "tv room/ü,x!'()*~";
    await client.publish({ channel, message: { ok: true } });
    const history = await client.fetchMessages({ channels: [channel, "other"] });
    expect(history.channels[channel]?.map((i) => i.message)).toEqual([{ ok: true }]);
  });

  it("delivers with the envelope the SDK expects: publisher, meta, custom type, subscription", async () => {
    const emulator = await startEmulator();
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["room"] });
    const pub = sdkClient(emulator, "alice");
    const { timetoken } = await pub.publish({
      channel: "room",
      message: { hello: "world" },
      meta: { k: "v" },
      customMessageType: "chat-msg",
    });
    const m = await waitFor("message", () => log.messages[0]);
    expect(m.channel).toBe("room");
    expect(m.subscription).toBe("room");
    expect(m.publisher).toBe("alice");
    expect(m.message).toEqual({ hello: "world" });
    expect(m.userMetadata).toEqual({ k: "v" });
    expect(m.customMessageType).toBe("chat-msg");
    expect(m.timetoken).toBe(timetoken);
    // Handshake without tt and with ee=, then receives with tt/tr echoed.
    const polls = emulator.requests.filter((r) => r.endpoint === "subscribe");
    expect(polls[0]?.query.tt).toBeUndefined();
    expect(polls[1]?.query.tt).toMatch(/^[0-9]{17}$/);
    expect(polls[1]?.query.tr).toBe("1");
  });

  it("delivers signals with e:1 to the signal listener and never stores them", async () => {
    const emulator = await startEmulator();
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["room"] });
    await sdkClient(emulator, "alice").signal({ channel: "room", message: { typing: true } });
    const s = await waitFor("signal", () => log.signals[0]);
    expect(s.message).toEqual({ typing: true });
    expect(s.publisher).toBe("alice");
    expect(log.messages).toHaveLength(0);
    expect(emulator.storedMessages("room", SUB_KEY)).toHaveLength(0);
  });

  it("refuses what PubNub refuses: oversized messages (413), oversized signals, bad JSON", async () => {
    const emulator = await startEmulator();
    const client = sdkClient(emulator, "alice");
    await expect(
      client.publish({ channel: "room", message: { big: "x".repeat(33 * 1024) }, sendByPost: true }),
    ).rejects.toMatchObject({
      status: { statusCode: 413 },
    });
    await expect(client.signal({ channel: "room", message: { big: "x".repeat(100) } })).rejects.toMatchObject(
      {
        status: { statusCode: 413 },
      },
    );
    const res = await fetch(`http://${emulator.origin}/publish/p/s/0/room/0/%7Bnot-json?uuid=x`);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("javascript");
    expect(await res.json()).toEqual([0, "Invalid JSON", expect.stringMatching(/^[0-9]{17}$/)]);
  });

  it("honours store=0: delivered live, absent from history", async () => {
    const emulator = await startEmulator();
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["room"] });
    const pub = sdkClient(emulator, "alice");
    await pub.publish({ channel: "room", message: { live: 1 }, storeInHistory: false });
    await waitFor("message", () => log.messages[0]);
    const history = await pub.fetchMessages({ channels: ["room"] });
    expect(history.channels.room ?? []).toEqual([]);
  });

  it("hands a burst of 150 messages to a subscriber in answers of at most 100 envelopes, in order", async () => {
    const emulator = await startEmulator({ subscribeCacheSize: 1000 });
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["region.eu.updates"] });
    // Hold the next poll open a little, so the 150 pile up behind one cursor.
    emulator.injectFault({ endpoint: "subscribe", action: { type: "hold", ms: 300 } });
    const pub = sdkClient(emulator, "alice");
    for (let i = 0; i < 150; i++) await pub.publish({ channel: "region.eu.updates", message: { i } });
    await waitFor("150 messages", () => log.messages.length >= 150, 10_000);
    expect(log.messages.map((m) => (m.message as { i: number }).i)).toEqual([...Array(150).keys()]);
    const answered = emulator.requests.filter((r) => r.endpoint === "subscribe" && r.status === 200);
    expect(answered.length).toBeGreaterThanOrEqual(3);
  });

  it("a client resuming from an old cursor gets only what the subscribe cache still holds", async () => {
    const emulator = await startEmulator({ subscribeCacheSize: 10 });
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["room"] });
    // The poll after the next answer is held for 2 s while 25 messages arrive.
    emulator.injectFault({ endpoint: "subscribe", action: { type: "hold", ms: 2000 } });
    const pub = sdkClient(emulator, "alice");
    await pub.publish({ channel: "room", message: { i: -1 } });
    await waitFor("the first message", () => log.messages.length === 1);
    for (let i = 0; i < 25; i++) await pub.publish({ channel: "room", message: { i } });
    await waitFor("the cached ten", () => log.messages.length >= 11);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log.messages.map((m) => (m.message as { i: number }).i)).toEqual([
      -1,
      ...[...Array(10).keys()].map((k) => k + 15),
    ]);
  });

  it("answers an idle long-poll after subscribeHoldMs with the same cursor, and the SDK polls again", async () => {
    const emulator = await startEmulator({ subscribeHoldMs: 200 });
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["room"] });
    await waitFor(
      "three receives",
      () => emulator.requests.filter((r) => r.endpoint === "subscribe").length >= 4,
    );
    const receives = emulator.requests.filter((r) => r.endpoint === "subscribe").slice(1, 4);
    expect(new Set(receives.map((r) => r.query.tt)).size).toBe(1);
    expect(log.statuses.filter((s) => s.category !== "PNConnectedCategory")).toEqual([]);
  });

  it("tolerates aborted polls: a subscription change re-polls with the same cursor and loses nothing", async () => {
    const emulator = await startEmulator();
    const sub = sdkClient(emulator, "bob");
    const log = record(sub);
    await subscribeAndConnect(sub, log, { channels: ["a"] });
    await waitFor("held poll", () => emulator.heldPolls === 1);
    const pub = sdkClient(emulator, "alice");
    sub.subscribe({ channels: ["b"] });
    await pub.publish({ channel: "a", message: { on: "a" } });
    await pub.publish({ channel: "b", message: { on: "b" } });
    await waitFor("both", () => log.messages.length >= 2);
    expect(log.messages.map((m) => m.channel).sort()).toEqual(["a", "b"]);
    await waitFor("one held poll", () => emulator.heldPolls === 1);
  });

  it("history v3: start exclusive, end inclusive, newest max first-page, oldest first, paging back", async () => {
    const emulator = await startEmulator();
    const client = sdkClient(emulator, "alice");
    const tts: string[] = [];
    for (let i = 0; i < 130; i++)
      tts.push(String((await client.publish({ channel: "region.eu.updates", message: { i } })).timetoken));
    const page1 = (await client.fetchMessages({ channels: ["region.eu.updates"], count: 100 })).channels[
      "region.eu.updates"
    ]!;
    expect(page1.map((m) => (m.message as { i: number }).i)).toEqual(
      [...Array(100).keys()].map((k) => k + 30),
    );
    const page2 = (
      await client.fetchMessages({
        channels: ["region.eu.updates"],
        count: 100,
        start: String(page1[0]!.timetoken),
      })
    ).channels["region.eu.updates"]!;
    expect(page2.map((m) => (m.message as { i: number }).i)).toEqual([...Array(30).keys()]);
    // end inclusive, start exclusive.
    const range = (
      await client.fetchMessages({ channels: ["region.eu.updates"], start: tts[10]!, end: tts[5]! })
    ).channels["region.eu.updates"]!;
    expect(range.map((m) => (m.message as { i: number }).i)).toEqual([5, 6, 7, 8, 9]);
    // end alone: from the newest back to end.
    const tail = (await client.fetchMessages({ channels: ["region.eu.updates"], end: tts[127]! })).channels[
      "region.eu.updates"
    ]!;
    expect(tail.map((m) => (m.message as { i: number }).i)).toEqual([127, 128, 129]);
    // several channels: 25 per channel by default.
    await client.publish({ channel: "other", message: { x: 1 } });
    const multi = await client.fetchMessages({ channels: ["region.eu.updates", "other"] });
    expect(multi.channels["region.eu.updates"]).toHaveLength(25);
    expect(multi.channels.other).toHaveLength(1);
  });

  it("message counts are exclusive of the given timetoken; delete removes (start, end]", async () => {
    const emulator = await startEmulator();
    const client = sdkClient(emulator, "alice");
    const tts: string[] = [];
    for (let i = 0; i < 5; i++)
      tts.push(String((await client.publish({ channel: "room", message: { i } })).timetoken));
    const counts = await client.messageCounts({ channels: ["room", "empty"], channelTimetokens: [tts[1]!] });
    expect(counts.channels).toEqual({ room: 3, empty: 0 });
    const perChannel = await client.messageCounts({
      channels: ["room", "empty"],
      channelTimetokens: [tts[3]!, tts[0]!],
    });
    expect(perChannel.channels).toEqual({ room: 1, empty: 0 });
    await client.deleteMessages({ channel: "room", start: String(BigInt(tts[2]!) - 1n), end: tts[2]! });
    const left = (await client.fetchMessages({ channels: ["room"] })).channels.room!;
    expect(left.map((m) => (m.message as { i: number }).i)).toEqual([0, 1, 3, 4]);
  });
});
