/**
 * PubNubTransport over the real SDK and the emulator: the Transport interface end to end.
 */
import { TransportError } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { PubNubTransport } from "../src/index.js";
import { recordTransport, sleep, startEmulator, transportOn, waitFor } from "./helpers.js";

describe("PubNubTransport", () => {
  it("publishes and delivers every JSON value, falsy ones included, with meta and publisher", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob");
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    expect(log.statuses).toEqual([{ type: "connected", channels: ["user.u1.sync"], channelGroups: [] }]);
    const payloads = [0, "", false, null, { a: [1, 2] }, "text", 12.5];
    const tts: string[] = [];
    for (const p of payloads)
      tts.push((await alice.publish("user.u1.sync", p, { meta: { t: "x" } })).timetoken);
    await waitFor("all payloads", () => log.messages.length === payloads.length);
    expect(log.messages.map((m) => m.payload)).toEqual(payloads);
    expect(log.messages.map((m) => m.timetoken)).toEqual(tts);
    expect(log.messages[0]).toMatchObject({
      channel: "user.u1.sync",
      subscription: "user.u1.sync",
      publisher: "alice",
      meta: { t: "x" },
    });
    const history = await bob.history("user.u1.sync");
    expect(history.messages.map((m) => m.payload)).toEqual(payloads);
    expect(history.messages[4]).toMatchObject({ publisher: "alice", meta: { t: "x" }, timetoken: tts[4] });
  });

  it("refuses a payload over maxMessageBytes before anything is sent", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const big = "x".repeat(alice.maxMessageBytes); // + 2 quotes: over by 2
    const error = await alice.publish("user.u1.sync", big).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: "payload_too_large", operation: "publish", retryable: false });
    expect(emulator.requests.filter((r) => r.endpoint === "publish")).toHaveLength(0);
    // The largest accepted payload does go through, and PubNub's own 32 KiB limit holds it.
    await alice.publish("user.u1.sync", "é".repeat((alice.maxMessageBytes - 2) / 2));
    expect(emulator.requests.filter((r) => r.endpoint === "publish" && r.status === 200)).toHaveLength(1);
  });

  it("rejects a value JSON cannot carry, and a closed transport", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    await expect(alice.publish("user.u1.sync", undefined)).rejects.toMatchObject({
      code: "invalid_argument",
    });
    await expect(alice.publish("user.u1.sync", 10n)).rejects.toMatchObject({ code: "invalid_argument" });
    await alice.close();
    await alice.close();
    await expect(alice.publish("user.u1.sync", 1)).rejects.toMatchObject({ code: "closed" });
  });

  it("publishes with the channel's retention: ttl from spec 9.1, store=0 where nothing is kept", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    await alice.publish("user.u1.devices", { n: 1 });
    await alice.publish("analytics.viewing", { n: 2 });
    await alice.publish("user.u1.sync", { n: 3 }, { storeInHistory: false });
    const [devices, analytics, sync] = emulator.requests.filter((r) => r.endpoint === "publish");
    expect(devices?.query).toMatchObject({ store: "1", ttl: "1" });
    expect(analytics?.query).toMatchObject({ store: "0" });
    expect(sync?.query).toMatchObject({ store: "0" });
    expect((await alice.history("user.u1.devices")).messages).toHaveLength(1);
    expect((await alice.history("user.u1.sync")).messages).toHaveLength(0);
  });

  it("history honours start (exclusive), end (inclusive) and count", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const tts: string[] = [];
    for (let i = 0; i < 10; i++) tts.push((await alice.publish("user.u1.sync", { i })).timetoken);
    const page = await alice.history("user.u1.sync", { start: tts[8]!, end: tts[2]!, count: 3 });
    expect(page.messages.map((m) => m.payload)).toEqual([{ i: 5 }, { i: 6 }, { i: 7 }]);
    await expect(alice.history("user.u1.sync", { count: 101 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
  });

  it("subscribes through channel groups: subscription names the group", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob");
    const log = recordTransport(bob);
    await bob.addChannelsToGroup("user-u1-all", ["user.u1.sync", "global.trending"]);
    expect([...(await bob.listChannelsInGroup("user-u1-all"))].sort()).toEqual([
      "global.trending",
      "user.u1.sync",
    ]);
    await bob.subscribe({ channelGroups: ["user-u1-all"] });
    await alice.publish("global.trending", { top: 1 });
    await alice.publish("user.u2.sync", { not: "mine" });
    await waitFor("group message", () => log.messages[0]);
    await sleep(50);
    expect(log.messages).toHaveLength(1);
    expect(log.messages[0]).toMatchObject({ channel: "global.trending", subscription: "user-u1-all" });
    await bob.removeChannelsFromGroup("user-u1-all", ["global.trending"]);
    expect(await bob.listChannelsInGroup("user-u1-all")).toEqual(["user.u1.sync"]);
    await bob.deleteChannelGroup("user-u1-all");
    expect(await bob.listChannelsInGroup("user-u1-all")).toEqual([]);
  });

  it("unsubscribe stops delivery", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob");
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["party.p1", "party.p2"] });
    await bob.unsubscribe({ channels: ["party.p1"] });
    await alice.publish("party.p1", { n: 1 });
    await alice.publish("party.p2", { n: 2 });
    await waitFor("p2", () => log.messages.length === 1);
    await sleep(50);
    expect(log.messages.map((m) => m.channel)).toEqual(["party.p2"]);
  });

  it("validates its options: no scheme in origin, no cryptoModule", () => {
    expect(
      () => new PubNubTransport({ subscribeKey: "s", userId: "u", origin: "http://127.0.0.1:1" }),
    ).toThrow(RangeError);
    expect(() => new PubNubTransport({ subscribeKey: "s", userId: "u", sdk: { cipherKey: "k" } })).toThrow(
      TypeError,
    );
    expect(() => new PubNubTransport({ subscribeKey: "s", userId: "" })).toThrow(TypeError);
  });
});

describe("PubNubTransport presence", () => {
  it("announces 2 × the device's interval as its timeout and sends no heartbeat loop of its own", async () => {
    const emulator = await startEmulator({ presence: { minTimeoutSeconds: 1 } });
    const bob = transportOn(emulator, "bob", { heartbeatIntervalSeconds: 2 });
    await bob.subscribe({ channels: ["user.u1.devices"] });
    await waitFor("join heartbeat", () => emulator.requests.some((r) => r.endpoint === "heartbeat"));
    await sleep(2500);
    const heartbeats = emulator.requests.filter((r) => r.endpoint === "heartbeat");
    expect(heartbeats.map((r) => r.query.heartbeat)).toEqual(["4"]);
    await bob.heartbeat({ channels: ["user.u1.devices"], intervalSeconds: 300, state: { activity: "idle" } });
    await bob.heartbeat({ channels: ["user.u1.devices"], intervalSeconds: 30 });
    const explicit = emulator.requests.filter((r) => r.endpoint === "heartbeat").slice(1);
    expect(explicit.map((r) => r.query.heartbeat)).toEqual(["320", "60"]);
    expect(JSON.parse(explicit[0]!.query.state!)).toEqual({ "user.u1.devices": { activity: "idle" } });
    expect(explicit[1]!.query.state).toBeUndefined();
  });

  it("join, state-change, leave on close; hereNow with state", async () => {
    const emulator = await startEmulator();
    const watcher = transportOn(emulator, "watcher");
    const log = recordTransport(watcher);
    await watcher.subscribe({ channels: ["user.u1.devices"], withPresence: true });
    await waitFor("own join", () => log.presence.find((p) => p.uuid === "watcher" && p.action === "join"));
    const tv = transportOn(emulator, "tv");
    await tv.subscribe({ channels: ["user.u1.devices"] });
    await waitFor("tv join", () => log.presence.find((p) => p.uuid === "tv" && p.action === "join"));
    await tv.setState({ channels: ["user.u1.devices"], state: { activity: "watching" } });
    const change = await waitFor("state-change", () => log.presence.find((p) => p.action === "state-change"));
    expect(change).toMatchObject({
      uuid: "tv",
      state: { activity: "watching" },
      channel: "user.u1.devices",
      occupancy: 2,
    });
    const here = await watcher.hereNow({
      channels: ["user.u1.devices", "user.u9.devices"],
      includeState: true,
    });
    expect(here.channels["user.u1.devices"]?.occupancy).toBe(2);
    expect(here.channels["user.u1.devices"]?.occupants).toContainEqual({
      uuid: "tv",
      state: { activity: "watching" },
    });
    expect(here.channels["user.u9.devices"]).toEqual({ occupancy: 0, occupants: [] });
    await tv.close();
    const leave = await waitFor("leave", () =>
      log.presence.find((p) => p.uuid === "tv" && p.action === "leave"),
    );
    expect(leave.occupancy).toBe(1);
    expect(emulator.occupants("user.u1.devices")).toEqual(["watcher"]);
  });

  it("leave on a channel only heartbeated (not subscribed) sends a leave on its own", async () => {
    const emulator = await startEmulator();
    const watcher = transportOn(emulator, "watcher");
    const log = recordTransport(watcher);
    await watcher.subscribe({ channels: ["user.u1.devices"], withPresence: true });
    const phone = transportOn(emulator, "phone");
    await phone.heartbeat({ channels: ["user.u1.devices"], intervalSeconds: 30 });
    await waitFor("phone join", () => log.presence.find((p) => p.uuid === "phone" && p.action === "join"));
    await phone.leave({ channels: ["user.u1.devices"] });
    await waitFor("phone leave", () => log.presence.find((p) => p.uuid === "phone" && p.action === "leave"));
  });
});
