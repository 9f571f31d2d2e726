import type { TransportPresenceEvent } from "@mg-sync/crdt-core";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, raw, recordingWebSocket, startHub, transport, waitFor } from "./support.js";

afterEach(closeAll);

const DEVICES = "user.alice.devices";

describe("presence", () => {
  it("times a vanished client out after two of ITS OWN heartbeat intervals (DEVIATIONS 7), not at once", async () => {
    const { url } = await startHub({
      insecure: true,
      minHeartbeatIntervalSec: 0.05,
      presenceSweepIntervalMs: 10,
    });
    const watcher = transport({ url, clientId: "watcher" });
    const events: TransportPresenceEvent[] = [];
    watcher.addListener({ presence: (e) => events.push(e) });
    await watcher.subscribe({ channels: [DEVICES], withPresence: true });
    const sockets = recordingWebSocket();
    const fast = transport({
      url,
      clientId: "fast",
      WebSocket: sockets.WebSocket,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
    });
    const slowSockets = recordingWebSocket();
    const slow = transport({
      url,
      clientId: "slow",
      WebSocket: slowSockets.WebSocket,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
    });
    await fast.subscribe({ channels: [DEVICES] });
    await fast.heartbeat({ channels: [DEVICES], intervalSeconds: 0.1 });
    await slow.subscribe({ channels: [DEVICES] });
    await slow.heartbeat({ channels: [DEVICES], intervalSeconds: 0.6 });
    await waitFor(() => events.filter((e) => e.action === "join").length === 3, "three joins");
    const cutAt = Date.now();
    sockets.last().terminate();
    slowSockets.last().terminate();
    await waitFor(() => events.some((e) => e.action === "timeout" && e.uuid === "fast"), "fast to time out");
    const fastAfter = Date.now() - cutAt;
    // Two 100 ms intervals from when "fast" was last heard (its heartbeat, just before the cut).
    expect(fastAfter).toBeGreaterThanOrEqual(50);
    expect(events.some((e) => e.uuid === "slow" && e.action === "timeout")).toBe(false);
    await waitFor(() => events.some((e) => e.action === "timeout" && e.uuid === "slow"), "slow to time out");
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(800); // two 600 ms intervals, less the same slack
    expect(events.filter((e) => e.action === "leave")).toEqual([]);
    const here = await watcher.hereNow({ channels: [DEVICES] });
    expect(here.channels[DEVICES]?.occupants.map((o) => o.uuid)).toEqual(["watcher"]);
  });

  it("a normal close is a leave at once; reconnecting within the timeout is no event at all", async () => {
    const { url } = await startHub({ insecure: true, presenceSweepIntervalMs: 10 });
    const watcher = await raw(url, "watcher");
    await watcher.request({ op: "subscribe", channels: [DEVICES], presence: true });
    const sockets = recordingWebSocket();
    const device = transport({ url, clientId: "tv", WebSocket: sockets.WebSocket });
    await device.subscribe({ channels: [DEVICES] });
    await device.heartbeat({ channels: [DEVICES], intervalSeconds: 30, state: { activity: "Idle" } });
    sockets.last().terminate(); // vanishes, reconnects (backoff 20 ms), resubscribes: still present
    await waitFor(() => sockets.sockets.length === 2 && device.connected, "the reconnect");
    await device.setState({ channels: [DEVICES], state: { activity: "Browsing" } });
    await device.close();
    await waitFor(
      () => watcher.frames.some((f) => f.type === "presence" && f.action === "leave"),
      "the leave",
    );
    const actions = watcher.frames
      .filter((f) => f.type === "presence" && f.uuid === "tv")
      .map((f) => f.action);
    expect(actions).toEqual(["join", "state-change", "state-change", "leave"]);
    const join = watcher.frames.find((f) => f.type === "presence" && f.action === "join" && f.uuid === "tv");
    expect(join).toMatchObject({ channel: DEVICES, occupancy: 2 });
  });

  it("leave removes presence at once but keeps the subscription", async () => {
    const { url } = await startHub({ insecure: true });
    const watcher = await raw(url, "watcher");
    await watcher.request({ op: "subscribe", channels: [DEVICES], presence: true });
    const tv = await raw(url, "tv");
    await tv.request({ op: "subscribe", channels: [DEVICES] });
    expect((await tv.request({ op: "leave", channels: [DEVICES] })).ok).toBe(true);
    const here = await watcher.request({ op: "hereNow", channels: [DEVICES], state: true });
    expect(here.result).toEqual({
      channels: { [DEVICES]: { occupancy: 1, occupants: [{ uuid: "watcher" }] } },
    });
    await watcher.request({ op: "publish", channel: DEVICES, payload: "still subscribed" });
    await waitFor(() => tv.messages(DEVICES).length === 1, "delivery after leave");
  });
});

describe("channel groups", () => {
  it("subscribers follow a group's changes live, with a group-changed status", async () => {
    const { url } = await startHub({ insecure: true });
    const manager = await raw(url, "manager");
    await manager.request({ op: "groupAdd", group: "user-alice-all", channels: ["user.alice.sync"] });
    const device = await raw(url, "tv");
    await device.request({ op: "subscribe", groups: ["user-alice-all"] });
    await manager.request({ op: "groupAdd", group: "user-alice-all", channels: ["region.uk.updates"] });
    await waitFor(() => device.frames.some((f) => f.type === "status"), "group-changed");
    const status = device.frames.find((f) => f.type === "status")!;
    expect(status).toMatchObject({
      event: "group-changed",
      group: "user-alice-all",
      added: ["region.uk.updates"],
      removed: [],
    });
    expect((status.timetokens as Record<string, string>)["region.uk.updates"]).toMatch(/^\d+$/);
    await manager.request({ op: "publish", channel: "region.uk.updates", payload: 1 });
    await waitFor(
      () => device.messages("region.uk.updates").length === 1,
      "delivery through the new channel",
    );
    expect(device.messages("region.uk.updates")[0]).toMatchObject({ subscription: "user-alice-all" });
    await manager.request({ op: "groupDelete", group: "user-alice-all" });
    await waitFor(() => device.frames.filter((f) => f.type === "status").length === 2, "the removal");
    await manager.request({ op: "publish", channel: "user.alice.sync", payload: 2 });
    await manager.request({ op: "publish", channel: "region.uk.updates", payload: 3 });
    expect((await device.request({ op: "ping" })).ok).toBe(true);
    expect(device.messages().map((f) => f.payload)).toEqual([1]);
  });

  it("a channel subscribed directly and through a group is delivered once and stays until both go", async () => {
    const { url, hub } = await startHub({ insecure: true });
    const c = await raw(url, "c");
    await c.request({ op: "groupAdd", group: "g", channels: ["a.b"] });
    await c.request({ op: "subscribe", channels: ["a.b"] });
    await c.request({ op: "subscribe", groups: ["g"] });
    await c.request({ op: "publish", channel: "a.b", payload: 1 });
    await c.request({ op: "unsubscribe", channels: ["a.b"] });
    await c.request({ op: "publish", channel: "a.b", payload: 2 });
    await c.request({ op: "unsubscribe", groups: ["g"] });
    await c.request({ op: "publish", channel: "a.b", payload: 3 });
    expect(c.messages().map((f) => [f.payload, f.subscription])).toEqual([
      [1, "a.b"],
      [2, "g"],
    ]);
    expect(hub.subscriptionCount).toBe(0);
  });
});
