/**
 * Loss, duplication and reordering: at least once and FIFO per publisher per channel must survive
 * all of them (crdt-core `transport.ts`; DEVIATIONS 6), while order across publishers is not kept.
 */
import { type Transport, timetokenCompare } from "@mg-sync/crdt-core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MemoryNetwork, type MemoryNetworkOptions } from "../src/index.js";
import { firstSeen, type Recorder, record, sequenceFrom } from "./recorder.js";

const CHANNEL = "party.faults";
const PUBLISHERS = ["p1", "p2", "p3"];

/**
 * Three publishers fire `count` messages each without waiting (so they race), two subscribers
 * listen; returns what everyone saw once the network is quiet.
 */
async function race(options: MemoryNetworkOptions, count: number) {
  const network = new MemoryNetwork(options);
  const subscribers = ["s1", "s2"].map((id) => network.client(id));
  const recorders = subscribers.map(record);
  await network.runUntilSettled(Promise.all(subscribers.map((s) => s.subscribe({ channels: [CHANNEL] }))));
  const publishers = PUBLISHERS.map((id) => network.client(id));
  const acks = await network.runUntilSettled(
    Promise.all(
      publishers.flatMap((publisher: Transport) =>
        Array.from({ length: count }, (_, seq) =>
          publisher.publish(CHANNEL, { seq }).then((ack) => ack.timetoken),
        ),
      ),
    ),
  );
  await network.runUntilQuiet();
  return { network, recorders, acks };
}

function expectFifoAndComplete(recorders: readonly Recorder[], acks: readonly string[], count: number): void {
  const inOrder = Array.from({ length: count }, (_, i) => i);
  for (const recorder of recorders) {
    for (const publisher of PUBLISHERS) expect(sequenceFrom(recorder.messages, publisher)).toEqual(inOrder);
    expect(new Set(firstSeen(recorder.messages))).toEqual(new Set(acks));
  }
}

describe("faults", () => {
  test("with half of all hops lost, every acknowledged message still arrives, in order per publisher", async () => {
    const { network, recorders, acks } = await race({ seed: 11, lossRate: 0.5 }, 30);
    expectFifoAndComplete(recorders, acks, 30);
    expect(network.trace().filter((line) => line.includes(" lost, resent")).length).toBeGreaterThan(50);
  });

  test("duplicates happen, and only after the first copy; FIFO holds for first arrivals", async () => {
    const { recorders, acks } = await race(
      { seed: 12, duplicateRate: 0.4, latency: { minMs: 1, maxMs: 300 } },
      30,
    );
    expectFifoAndComplete(recorders, acks, 30);
    for (const recorder of recorders) {
      const duplicates = recorder.messages.length - new Set(firstSeen(recorder.messages)).size;
      expect(duplicates).toBeGreaterThan(10);
    }
  });

  test("publishers are reordered: receivers see interleavings that differ from timetoken order and from each other", async () => {
    const { recorders } = await race({ seed: 13, latency: { minMs: 1, maxMs: 500 } }, 20);
    const orders = recorders.map((recorder) => firstSeen(recorder.messages));
    const byTimetoken = [...orders[0]!].sort(timetokenCompare);
    expect(orders[0]).not.toEqual(byTimetoken);
    expect(orders[0]).not.toEqual(orders[1]);
  });

  test("calls fired without waiting keep their call order per channel (stronger than the interface asks)", async () => {
    const network = new MemoryNetwork({ seed: 14, lossRate: 0.3, latency: { minMs: 1, maxMs: 400 } });
    const [a, b] = [network.client("a"), network.client("b")];
    await network.runUntilSettled(b.subscribe({ channels: [CHANNEL] }));
    const acks = await network.runUntilSettled(
      Promise.all(
        Array.from({ length: 50 }, (_, seq) => a.publish(CHANNEL, { seq }).then((ack) => ack.timetoken)),
      ),
    );
    for (let i = 1; i < acks.length; i++) expect(BigInt(acks[i]!) > BigInt(acks[i - 1]!)).toBe(true);
  });

  test("property: for any seed and fault rates, at least once and FIFO per publisher hold", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.integer({ min: 0, max: 300 }),
        async (seed, lossRate, duplicateRate, spread) => {
          const { recorders, acks } = await race(
            { seed, lossRate, duplicateRate, latency: { minMs: 1, maxMs: 1 + spread } },
            8,
          );
          expectFifoAndComplete(recorders, acks, 8);
        },
      ),
      { numRuns: 40 },
    );
  });

  test("conditions can change mid-run", async () => {
    const network = new MemoryNetwork({ seed: 15 });
    const [a, b] = [network.client("a"), network.client("b")];
    const recorder = record(b);
    await network.runUntilSettled(b.subscribe({ channels: [CHANNEL] }));
    network.setConditions({ lossRate: 0.9, latency: { minMs: 50, maxMs: 50 } });
    const start = network.now();
    const { timetoken } = await network.runUntilSettled(a.publish(CHANNEL, { seq: 0 }));
    await network.runUntilQuiet();
    expect(firstSeen(recorder.messages)).toEqual([timetoken]);
    expect(network.now() - start).toBeGreaterThan(1000);
    expect(() => network.setConditions({ lossRate: 1 })).toThrow(RangeError);
    expect(() => network.setConditions({ latency: { minMs: 5, maxMs: 1 } })).toThrow(RangeError);
  });
});
