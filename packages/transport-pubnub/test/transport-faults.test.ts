/**
 * PubNubTransport under faults injected by the emulator: the SDK's own retry and cursor restore
 * for short trouble, our disconnect → reconnect → history catch-up for long trouble, and gaps
 * when history no longer reaches back. Real SDK, real HTTP, no mocks.
 */
import PubNub from "pubnub";
import { describe, expect, it } from "vitest";
import { recordTransport, sleep, startEmulator, transportOn, waitFor } from "./helpers.js";

const FAST_RECONNECT = { baseMs: 100, maxMs: 400 } as const;

describe("PubNubTransport under faults", () => {
  it("a 500 on the long-poll is retried by the SDK from the same cursor: nothing lost, no status", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob");
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    emulator.injectFault({ endpoint: "subscribe", uuid: "bob", action: { type: "status", status: 500 } });
    await alice.publish("user.u1.sync", { n: 1 }); // answers the held poll; the next one fails
    await waitFor("the failing poll", () =>
      emulator.requests.some((r) => r.endpoint === "subscribe" && r.status === 500),
    );
    await alice.publish("user.u1.sync", { n: 2 });
    await waitFor("both messages", () => log.messages.length === 2, 10_000);
    expect(log.messages.map((m) => m.payload)).toEqual([{ n: 1 }, { n: 2 }]);
    const polls = emulator.requests.filter((r) => r.endpoint === "subscribe");
    const failed = polls.findIndex((r) => r.status === 500);
    expect(polls[failed + 1]?.query.tt).toBe(polls[failed]?.query.tt);
    expect(log.statuses.map((s) => s.type)).toEqual(["connected"]);
  });

  it("honours 429 Retry-After on the long-poll", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob");
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    emulator.injectFault({
      endpoint: "subscribe",
      uuid: "bob",
      action: { type: "status", status: 429, retryAfterSeconds: 1 },
    });
    await alice.publish("user.u1.sync", { n: 1 });
    await alice.publish("user.u1.sync", { n: 2 });
    await waitFor("both messages", () => log.messages.length === 2, 10_000);
    const polls = emulator.requests.filter((r) => r.endpoint === "subscribe");
    const limited = polls.findIndex((r) => r.status === 429);
    expect(polls[limited + 1]!.atMs - polls[limited]!.atMs).toBeGreaterThanOrEqual(1000);
  });

  it("the server restarts mid-stream: the SDK resumes from its cursor and gets what came after", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob");
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    await alice.publish("user.u1.sync", { n: 1 });
    await waitFor("first", () => log.messages.length === 1);
    await emulator.restart(300);
    await alice.publish("user.u1.sync", { n: 2 });
    await waitFor("second, after the restart", () => log.messages.length === 2, 10_000);
    expect(log.messages.map((m) => m.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("a dropped socket fails a publish with a retryable network error; the retry lands once", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    emulator.injectFault({ endpoint: "publish", action: { type: "drop" } });
    const error = await alice.publish("user.u1.sync", { n: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "network", retryable: true, operation: "publish" });
    await alice.publish("user.u1.sync", { n: 1 });
    expect((await alice.history("user.u1.sync")).messages.map((m) => m.payload)).toEqual([{ n: 1 }]);
  });

  it("a 500 on publish is a retryable server error; 403 is access_denied with an access-denied status", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const log = recordTransport(alice);
    emulator.injectFault({ endpoint: "publish", action: { type: "status", status: 500 } });
    await expect(alice.publish("user.u1.sync", 1)).rejects.toMatchObject({ code: "server", retryable: true });
    emulator.injectFault({ endpoint: "publish", action: { type: "status", status: 403 } });
    await expect(alice.publish("user.u1.sync", 1)).rejects.toMatchObject({
      code: "access_denied",
      retryable: false,
    });
    expect(log.statuses).toEqual([
      {
        type: "access-denied",
        operation: "publish",
        channels: ["user.u1.sync"],
        message: expect.any(String),
      },
    ]);
  });

  it("a long outage: disconnected, then reconnected; the SDK's restore and history deliver everything once, in order", async () => {
    const emulator = await startEmulator();
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob", {
      retryConfiguration: PubNub.NoneRetryPolicy(),
      reconnectBackoff: FAST_RECONNECT,
    });
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    await alice.publish("user.u1.sync", { n: 0 });
    await waitFor("first", () => log.messages.length === 1);
    const outage = emulator.injectFault({
      endpoint: "subscribe",
      uuid: "bob",
      times: Number.POSITIVE_INFINITY,
      action: { type: "status", status: 503 },
    });
    emulator.dropConnections();
    await waitFor("disconnected", () => log.statuses.find((s) => s.type === "disconnected"));
    for (let n = 1; n <= 5; n++) await alice.publish("user.u1.sync", { n });
    await sleep(300);
    outage.cancel();
    const reconnected = await waitFor(
      "reconnected",
      () => log.statuses.find((s) => s.type === "reconnected"),
      10_000,
    );
    expect(reconnected).toEqual({
      type: "reconnected",
      lastTimetoken: log.messages[0]!.timetoken,
      gap: false,
    });
    await sleep(100);
    expect(log.messages.map((m) => m.payload)).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n })));
  });

  it("an outage longer than the subscribe cache: history fills the rest, no gap while it reaches back", async () => {
    const emulator = await startEmulator({ subscribeCacheSize: 3 });
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob", {
      retryConfiguration: PubNub.NoneRetryPolicy(),
      reconnectBackoff: FAST_RECONNECT,
    });
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    await alice.publish("user.u1.sync", { n: 0 });
    await waitFor("first", () => log.messages.length === 1);
    const outage = emulator.injectFault({
      endpoint: "subscribe",
      uuid: "bob",
      times: Number.POSITIVE_INFINITY,
      action: { type: "status", status: 503 },
    });
    emulator.dropConnections();
    await waitFor("disconnected", () => log.statuses.find((s) => s.type === "disconnected"));
    for (let n = 1; n <= 20; n++) await alice.publish("user.u1.sync", { n });
    outage.cancel();
    const reconnected = await waitFor(
      "reconnected",
      () => log.statuses.find((s) => s.type === "reconnected"),
      10_000,
    );
    expect(reconnected).toMatchObject({ gap: false });
    await sleep(100);
    expect(log.messages.map((m) => (m.payload as { n: number }).n)).toEqual([...Array(21).keys()]);
    expect(new Set(log.messages.map((m) => m.timetoken)).size).toBe(21);
  });

  it("an outage longer than history: the retained part is delivered and the gap is reported", async () => {
    const emulator = await startEmulator({
      subscribeCacheSize: 3,
      retention: () => ({ count: 10, durationMs: 86_400_000 }),
    });
    const alice = transportOn(emulator, "alice");
    const bob = transportOn(emulator, "bob", {
      retryConfiguration: PubNub.NoneRetryPolicy(),
      reconnectBackoff: FAST_RECONNECT,
      retention: () => ({ count: 10, durationMs: 86_400_000 }),
    });
    const log = recordTransport(bob);
    await bob.subscribe({ channels: ["user.u1.sync"] });
    await alice.publish("user.u1.sync", { n: 0 });
    await waitFor("first", () => log.messages.length === 1);
    const outage = emulator.injectFault({
      endpoint: "subscribe",
      uuid: "bob",
      times: Number.POSITIVE_INFINITY,
      action: { type: "status", status: 503 },
    });
    emulator.dropConnections();
    await waitFor("disconnected", () => log.statuses.find((s) => s.type === "disconnected"));
    for (let n = 1; n <= 20; n++) await alice.publish("user.u1.sync", { n });
    outage.cancel();
    const reconnected = await waitFor(
      "reconnected",
      () => log.statuses.find((s) => s.type === "reconnected"),
      10_000,
    );
    expect(reconnected).toMatchObject({ gap: true, lastTimetoken: log.messages[0]!.timetoken });
    await sleep(100);
    expect(log.messages.map((m) => (m.payload as { n: number }).n)).toEqual([
      0,
      ...[...Array(10).keys()].map((k) => k + 11),
    ]);
  });
});
