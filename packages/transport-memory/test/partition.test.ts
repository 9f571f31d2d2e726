/**
 * Partitions and single-client disconnects: held calls, dropped deliveries, catch-up from history
 * on the way back, and `reconnected` with `gap` when history no longer reaches back (spec 10.3,
 * DEVIATIONS 9).
 */
import { TransportError, type TransportStatus } from "@mg-sync/crdt-core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MemoryNetwork } from "../src/index.js";
import { firstSeen, record, sequenceFrom, track } from "./recorder.js";

const CHANNEL = "party.split";

async function threeClients(options: ConstructorParameters<typeof MemoryNetwork>[0]) {
  const network = new MemoryNetwork(options);
  const [a, b, c] = ["a", "b", "c"].map((id) => network.client(id)) as [
    ReturnType<MemoryNetwork["client"]>,
    ReturnType<MemoryNetwork["client"]>,
    ReturnType<MemoryNetwork["client"]>,
  ];
  const recorders = { a: record(a), b: record(b), c: record(c) };
  await network.runUntilSettled(Promise.all([a, b, c].map((t) => t.subscribe({ channels: [CHANNEL] }))));
  return { network, a, b, c, recorders };
}

function reconnectedOf(statuses: readonly TransportStatus[]) {
  return statuses.filter((status) => status.type === "reconnected");
}

describe("partitions", () => {
  test("a cut-off client hears nothing, its publish is held, and on heal it catches up, then reconnects", async () => {
    const { network, a, c, recorders } = await threeClients({ seed: 21, latency: { minMs: 5, maxMs: 80 } });
    const before = (await network.runUntilSettled(a.publish(CHANNEL, { seq: 0 }))).timetoken;
    await network.runUntilQuiet();

    network.partition([["a", "b"], ["c"]]);
    expect(network.isConnected("c")).toBe(false);
    expect(network.isConnected("a")).toBe(true);
    for (let seq = 1; seq <= 5; seq++) await network.runUntilSettled(a.publish(CHANNEL, { seq }));
    const held = track(c.publish(CHANNEL, { seq: 100 }));
    await network.runUntilQuiet();
    await network.runFor(60_000);
    expect(held.settled()).toBe(false);
    expect(sequenceFrom(recorders.b.messages, "a")).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sequenceFrom(recorders.c.messages, "a")).toEqual([0]);
    expect(recorders.c.statuses.map((status) => status.type)).toEqual(["connected", "disconnected"]);

    network.heal();
    const { timetoken: late } = await network.runUntilSettled(held.promise);
    await network.runUntilQuiet();
    expect(sequenceFrom(recorders.c.messages, "a")).toEqual([0, 1, 2, 3, 4, 5]);
    // The held publish got through, once, after the partition.
    expect(sequenceFrom(recorders.b.messages, "c")).toEqual([100]);
    expect(BigInt(late) > BigInt(before)).toBe(true);
    // Everything missed came before `reconnected`.
    const events = recorders.c.events;
    const reconnectedAt = events.indexOf("status reconnected");
    const missed = recorders.c.messages.filter(
      (m) => m.publisher === "a" && (m.payload as { seq: number }).seq > 0,
    );
    expect(missed).toHaveLength(5);
    for (const message of missed)
      expect(events.indexOf(`message ${message.timetoken}`)).toBeLessThan(reconnectedAt);
    expect(reconnectedOf(recorders.c.statuses)).toEqual([
      { type: "reconnected", lastTimetoken: before, gap: false },
    ]);
    // Those who stayed with the server saw no status change.
    expect(recorders.a.statuses.map((status) => status.type)).toEqual(["connected"]);
  });

  test("messages on the wire when the link drops are recovered by the catch-up", async () => {
    const { network, a, recorders } = await threeClients({ seed: 22, latency: { minMs: 100, maxMs: 100 } });
    const publish = track(a.publish(CHANNEL, { seq: 1 }));
    await network.runFor(150); // stored at +100, delivery due at +200
    network.disconnect("c");
    const { timetoken } = await network.runUntilSettled(publish.promise);
    await network.runUntilQuiet();
    expect(recorders.c.messages).toEqual([]);
    network.reconnect("c");
    await network.runUntilQuiet();
    expect(firstSeen(recorders.c.messages)).toEqual([timetoken]);
    expect(
      network.trace().some((line) => line.includes("c got party.split") && line.includes("(catch-up)")),
    ).toBe(true);
    expect(reconnectedOf(recorders.c.statuses)).toEqual([
      { type: "reconnected", lastTimetoken: undefined, gap: false },
    ]);
  });

  test("a publish whose answer was lost in a cut is resent but stored once", async () => {
    const { network, b, c, recorders } = await threeClients({
      seed: 30,
      latency: { minMs: 100, maxMs: 100 },
    });
    const publish = track(c.publish(CHANNEL, { seq: 1 }));
    await network.runFor(150); // served at +100, answer due at +200
    network.disconnect("c");
    await network.runFor(1_000);
    expect(publish.settled()).toBe(false);
    network.reconnect("c");
    const { timetoken } = await network.runUntilSettled(publish.promise);
    await network.runUntilQuiet();
    const history = await network.runUntilSettled(b.history(CHANNEL));
    expect(history.messages.map((message) => message.timetoken)).toEqual([timetoken]);
    expect(firstSeen(recorders.b.messages)).toEqual([timetoken]);
    expect(network.trace().some((line) => line.includes("again, answered as before"))).toBe(true);
  });

  test("when history evicted messages by count, reconnected reports a gap and the rest is delivered", async () => {
    const { network, a, recorders } = await threeClients({
      seed: 23,
      retention: { party: { count: 3, durationMs: 86_400_000 } },
    });
    network.disconnect("c");
    for (let seq = 0; seq < 10; seq++) await network.runUntilSettled(a.publish(CHANNEL, { seq }));
    network.reconnect("c");
    await network.runUntilQuiet();
    expect(sequenceFrom(recorders.c.messages, "a")).toEqual([7, 8, 9]);
    expect(reconnectedOf(recorders.c.statuses)).toEqual([
      { type: "reconnected", lastTimetoken: undefined, gap: true },
    ]);
  });

  test("when history expired messages by age, reconnected reports a gap", async () => {
    const { network, a, recorders } = await threeClients({
      seed: 24,
      retention: { party: { count: 100, durationMs: 60_000 } },
    });
    network.disconnect("c");
    await network.runUntilSettled(a.publish(CHANNEL, { seq: 0 }));
    await network.runFor(120_000);
    await network.runUntilSettled(a.publish(CHANNEL, { seq: 1 }));
    network.reconnect("c");
    await network.runUntilQuiet();
    expect(sequenceFrom(recorders.c.messages, "a")).toEqual([1]);
    expect(reconnectedOf(recorders.c.statuses)[0]).toMatchObject({ gap: true });
  });

  test("messages published with storeInHistory false while cut off are lost without a gap", async () => {
    const { network, a, recorders } = await threeClients({ seed: 25 });
    network.disconnect("c");
    await network.runUntilSettled(a.publish(CHANNEL, { seq: 0 }, { storeInHistory: false }));
    network.reconnect("c");
    await network.runUntilQuiet();
    expect(recorders.c.messages).toEqual([]);
    expect(reconnectedOf(recorders.c.statuses)[0]).toMatchObject({ gap: false });
  });

  test("the first group keeps the server; each later group is cut off from everyone, its own members too", async () => {
    const { network, a, b, recorders } = await threeClients({ seed: 26 });
    network.partition([["a"], ["b", "c"]]);
    const fromB = track(b.publish(CHANNEL, { seq: 1 }));
    await network.runUntilSettled(a.publish(CHANNEL, { seq: 2 }));
    await network.runUntilQuiet();
    expect(fromB.settled()).toBe(false);
    expect(recorders.c.messages).toEqual([]);
    expect(sequenceFrom(recorders.a.messages, "a")).toEqual([2]);
    expect(() => network.partition([["a"], ["a"]])).toThrow(RangeError);
    network.heal();
    await network.runUntilSettled(fromB.promise);
    await network.runUntilQuiet();
    expect(sequenceFrom(recorders.c.messages, "b")).toEqual([1]);
  });

  test("heal does not bring back a client taken off with disconnect", async () => {
    const { network, recorders } = await threeClients({ seed: 27 });
    network.disconnect("c");
    network.partition([["a"], ["b"]]);
    network.heal();
    expect(network.isConnected("b")).toBe(true);
    expect(network.isConnected("c")).toBe(false);
    await network.runUntilQuiet();
    expect(recorders.c.statuses.map((status) => status.type)).toEqual(["connected", "disconnected"]);
    network.reconnect("c");
    await network.runUntilQuiet();
    expect(recorders.c.statuses.map((status) => status.type)).toEqual([
      "connected",
      "disconnected",
      "reconnected",
    ]);
  });

  test("a client opened while offline subscribes once it is back; close rejects what is still held", async () => {
    const network = new MemoryNetwork({ seed: 28 });
    network.disconnect("d");
    const d = network.client("d");
    const recorder = record(d);
    const subscribed = track(d.subscribe({ channels: [CHANNEL] }));
    await network.runFor(10_000);
    expect(subscribed.settled()).toBe(false);
    network.reconnect("d");
    await network.runUntilSettled(subscribed.promise);
    expect(recorder.statuses.map((status) => status.type)).toEqual(["connected"]);

    network.disconnect("d");
    const held = d.publish(CHANNEL, { seq: 1 });
    await d.close();
    await expect(held).rejects.toBeInstanceOf(TransportError);
    await expect(held).rejects.toMatchObject({ code: "closed", operation: "publish" });
  });

  test("runUntilSettled refuses to wait for a held call when nothing else can happen", async () => {
    const network = new MemoryNetwork({ seed: 29 });
    const a = network.client("a");
    network.disconnect("a");
    const held = a.publish(CHANNEL, { seq: 1 });
    await expect(network.runUntilSettled(held)).rejects.toThrow(/nothing scheduled can settle it/);
    await a.close();
    await expect(held).rejects.toMatchObject({ code: "closed" });
  });

  test("property: whatever is cut off and when, after the heal everyone has every acknowledged message, FIFO per publisher", async () => {
    const ids = ["a", "b", "c", "d"];
    const fault = fc.record({
      at: fc.integer({ min: 0, max: 3_000 }),
      who: fc.subarray(ids),
      kind: fc.constantFrom("disconnect", "partition", "heal"),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.array(fault, { maxLength: 6 }),
        async (seed, lossRate, duplicateRate, faults) => {
          const network = new MemoryNetwork({
            seed,
            lossRate,
            duplicateRate,
            latency: { minMs: 1, maxMs: 400 },
          });
          const clients = ids.map((id) => network.client(id));
          const recorders = clients.map(record);
          await network.runUntilSettled(
            Promise.all(clients.map((t) => t.subscribe({ channels: [CHANNEL] }))),
          );
          const healAll = (): void => {
            network.heal();
            for (const id of ids) network.reconnect(id);
          };
          for (const { at, who, kind } of faults)
            network.scheduler.schedule(at, () => {
              if (kind === "heal") healAll();
              else if (kind === "disconnect") for (const id of who) network.disconnect(id);
              else network.partition([ids.filter((id) => !who.includes(id)), who]);
            });
          const acknowledged: string[] = [];
          const bursts = Promise.all(
            clients.map(async (publisher) => {
              for (let seq = 0; seq < 10; seq++)
                acknowledged.push((await publisher.publish(CHANNEL, { seq })).timetoken);
            }),
          );
          await network.runFor(3_500);
          healAll();
          await network.runUntilSettled(bursts);
          await network.runUntilQuiet();
          const inOrder = Array.from({ length: 10 }, (_, i) => i);
          for (const recorder of recorders) {
            expect(new Set(firstSeen(recorder.messages))).toEqual(new Set(acknowledged));
            for (const id of ids) expect(sequenceFrom(recorder.messages, id)).toEqual(inOrder);
            // disconnected and reconnected alternate, and the last word is not "disconnected".
            let last = "connected";
            for (const { type } of recorder.statuses) {
              if (type === "disconnected") expect(last).not.toBe("disconnected");
              if (type === "reconnected") expect(last).toBe("disconnected");
              last = type;
            }
            expect(last).not.toBe("disconnected");
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
