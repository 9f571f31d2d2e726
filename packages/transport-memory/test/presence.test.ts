/**
 * Presence: join, leave (at once), timeout after two of the client's OWN announced intervals
 * (DEVIATIONS 7; spec 8.2's 60 s only for a 30 s client), state, hereNow, and channel groups.
 * Latency 0, so every time below is exact.
 */
import type { Transport } from "@mg-sync/crdt-core";
import { describe, expect, test } from "vitest";
import { MemoryNetwork } from "../src/index.js";
import { type Recorder, record } from "./recorder.js";

const DEVICES = "user.alice.devices";

async function setUp(): Promise<{ network: MemoryNetwork; observer: Transport; seen: Recorder }> {
  const network = new MemoryNetwork({ seed: 41, latency: { minMs: 0, maxMs: 0 } });
  const observer = network.client("observer");
  const seen = record(observer);
  await network.runUntilSettled(observer.subscribe({ channels: [DEVICES], withPresence: true }));
  return { network, observer, seen };
}

async function occupants(network: MemoryNetwork, observer: Transport, channel = DEVICES): Promise<string[]> {
  const result = await network.runUntilSettled(observer.hereNow({ channels: [channel] }));
  const entry = result.channels[channel];
  expect(entry?.occupancy).toBe(entry?.occupants.length);
  return entry?.occupants.map((occupant) => occupant.uuid) ?? [];
}

const actions = (seen: Recorder, uuid: string): string[] =>
  seen.presence.filter((event) => event.uuid === uuid).map((event) => event.action);

describe("presence", () => {
  test("timeouts follow each client's own interval: 30 s is gone at 60 s, 300 s is still here at 120 s", async () => {
    const { network, observer, seen } = await setUp();
    const phone = network.client("phone");
    const tv = network.client("tv");
    await network.runUntilSettled(phone.heartbeat({ channels: [DEVICES], intervalSeconds: 30 }));
    await network.runUntilSettled(tv.heartbeat({ channels: [DEVICES], intervalSeconds: 300 }));
    expect(await occupants(network, observer)).toEqual(["observer", "phone", "tv"]);

    const cutAt = network.now();
    network.disconnect("phone");
    network.disconnect("tv");
    await network.runFor(59_999);
    expect(await occupants(network, observer)).toEqual(["observer", "phone", "tv"]);
    await network.runFor(1);
    expect(actions(seen, "phone")).toEqual(["join", "timeout"]);
    const timeout = seen.presence.find((event) => event.action === "timeout");
    expect(timeout).toMatchObject({
      channel: DEVICES,
      uuid: "phone",
      occupancy: 2,
      timestampMs: cutAt + 60_000,
    });
    expect(await occupants(network, observer)).toEqual(["observer", "tv"]);

    await network.runFor(60_000); // 120 s after the cut
    expect(await occupants(network, observer)).toEqual(["observer", "tv"]);
    await network.runFor(480_000 - 1); // just before 600 s
    expect(actions(seen, "tv")).toEqual(["join"]);
    await network.runFor(1);
    expect(actions(seen, "tv")).toEqual(["join", "timeout"]);
    expect(await occupants(network, observer)).toEqual(["observer"]);
  });

  test("a connected client never times out; back before its timeout it stays, after it it joins again", async () => {
    const { network, seen } = await setUp();
    const tv = network.client("tv");
    await network.runUntilSettled(tv.subscribe({ channels: [DEVICES], withPresence: true }));
    await network.runFor(3_600_000);
    expect(actions(seen, "tv")).toEqual(["join"]);

    network.disconnect("tv");
    await network.runFor(30_000);
    network.reconnect("tv");
    await network.runUntilQuiet();
    expect(actions(seen, "tv")).toEqual(["join"]);

    network.disconnect("tv");
    await network.runFor(61_000);
    network.reconnect("tv");
    await network.runUntilQuiet();
    expect(actions(seen, "tv")).toEqual(["join", "timeout", "join"]);
  });

  test("leave, unsubscribe and close leave at once", async () => {
    const { network, observer, seen } = await setUp();
    const [a, b, c] = ["a", "b", "c"].map((id) => network.client(id));
    for (const client of [a!, b!, c!])
      await network.runUntilSettled(client.subscribe({ channels: [DEVICES], withPresence: true }));
    await network.runUntilSettled(a!.leave({ channels: [DEVICES] }));
    await network.runUntilSettled(b!.unsubscribe({ channels: [DEVICES] }));
    await c!.close();
    await network.runUntilQuiet();
    for (const uuid of ["a", "b", "c"]) expect(actions(seen, uuid)).toEqual(["join", "leave"]);
    expect(await occupants(network, observer)).toEqual(["observer"]);
    // `leave` keeps the message subscription; a heartbeat brings the client back.
    await network.runUntilSettled(a!.heartbeat({ channels: [DEVICES], intervalSeconds: 30 }));
    expect(actions(seen, "a")).toEqual(["join", "leave", "join"]);
  });

  test("state: carried by join, changed by setState and heartbeat, returned by hereNow", async () => {
    const { network, observer, seen } = await setUp();
    const tv = network.client("tv");
    await network.runUntilSettled(
      tv.heartbeat({ channels: [DEVICES], intervalSeconds: 30, state: { activity: "Idle" } }),
    );
    await network.runUntilSettled(tv.setState({ channels: [DEVICES], state: { activity: "Browsing" } }));
    await network.runUntilSettled(tv.setState({ channels: [DEVICES], state: { activity: "Browsing" } }));
    await network.runUntilSettled(
      tv.heartbeat({ channels: [DEVICES], intervalSeconds: 30, state: { activity: "Idle" } }),
    );
    await network.runUntilQuiet();
    const events = seen.presence.filter((event) => event.uuid === "tv");
    expect(events.map((event) => [event.action, event.state])).toEqual([
      ["join", { activity: "Idle" }],
      ["state-change", { activity: "Browsing" }],
      ["state-change", { activity: "Idle" }],
    ]);
    const here = await network.runUntilSettled(
      observer.hereNow({ channels: [DEVICES, "party.empty"], includeState: true }),
    );
    expect(here.channels[DEVICES]?.occupants).toEqual([
      { uuid: "observer" },
      { uuid: "tv", state: { activity: "Idle" } },
    ]);
    expect(here.channels["party.empty"]).toEqual({ occupancy: 0, occupants: [] });
  });

  test("through a channel group: members join and leave as channels enter and leave the group", async () => {
    const network = new MemoryNetwork({ seed: 42, latency: { minMs: 0, maxMs: 0 } });
    const [admin, tv] = [network.client("admin"), network.client("tv")];
    const seen = record(tv);
    await network.runUntilSettled(tv.subscribe({ channelGroups: ["user-alice-all"], withPresence: true }));
    await network.runUntilSettled(admin.addChannelsToGroup("user-alice-all", [DEVICES, "party.p"]));
    await network.runUntilQuiet();
    expect(seen.presence.map((event) => `${event.action} ${event.channel}`)).toEqual([
      `join ${DEVICES}`,
      "join party.p",
    ]);
    await network.runUntilSettled(admin.removeChannelsFromGroup("user-alice-all", ["party.p"]));
    await network.runUntilSettled(admin.deleteChannelGroup("user-alice-all"));
    const here = await network.runUntilSettled(admin.hereNow({ channels: [DEVICES, "party.p"] }));
    expect(here.channels[DEVICES]?.occupancy).toBe(0);
    expect(here.channels["party.p"]?.occupancy).toBe(0);
  });

  test("a client restarted within its timeout takes over its presence without events", async () => {
    const { network, observer, seen } = await setUp();
    const first = network.client("tv");
    await network.runUntilSettled(first.subscribe({ channels: [DEVICES], withPresence: true }));
    network.disconnect("tv");
    await first.close();
    expect(() => network.client("observer")).toThrow(/already has an open transport/);
    const second = network.client("tv");
    network.reconnect("tv");
    await network.runUntilSettled(second.subscribe({ channels: [DEVICES], withPresence: true }));
    await network.runFor(600_000);
    expect(actions(seen, "tv")).toEqual(["join"]);
    expect(await occupants(network, observer)).toEqual(["observer", "tv"]);
  });

  test("a client closed while cut off times out", async () => {
    const { network, seen } = await setUp();
    const tv = network.client("tv");
    await network.runUntilSettled(tv.subscribe({ channels: [DEVICES], withPresence: true }));
    network.disconnect("tv");
    await tv.close();
    await network.runFor(60_000);
    expect(actions(seen, "tv")).toEqual(["join", "timeout"]);
  });
});
