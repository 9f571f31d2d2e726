/**
 * History under spec 9.1's retention (count and age, per channel kind), overrides, and PubNub's
 * start/end/count range checked against a plain filter over every stored message.
 */
import { CHANNEL_RETENTION, type Timetoken } from "@mg-sync/crdt-core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MemoryNetwork } from "../src/index.js";
import { firstSeen, record } from "./recorder.js";

const HOUR = 3_600_000;

async function publishMany(network: MemoryNetwork, channel: string, count: number): Promise<Timetoken[]> {
  const publisher = network.client(`pub-${channel}`);
  const out: Timetoken[] = [];
  for (let seq = 0; seq < count; seq++)
    out.push((await network.runUntilSettled(publisher.publish(channel, { seq }))).timetoken);
  return out;
}

async function historyOf(network: MemoryNetwork, channel: string, count = 100): Promise<number[]> {
  const reader = network.client(`reader-${network.now()}`);
  const result = await network.runUntilSettled(reader.history(channel, { count }));
  await reader.close();
  return result.messages.map((message) => (message.payload as { seq: number }).seq);
}

describe("retention (spec 9.1)", () => {
  test("by count: user.{id}.devices keeps its 25 newest messages", async () => {
    expect(CHANNEL_RETENTION["user.devices"].count).toBe(25);
    const network = new MemoryNetwork({ seed: 31 });
    await publishMany(network, "user.alice.devices", 30);
    expect(await historyOf(network, "user.alice.devices")).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 5),
    );
  });

  test("by age: user.{id}.devices keeps a message for one hour", async () => {
    expect(CHANNEL_RETENTION["user.devices"].durationMs).toBe(HOUR);
    const network = new MemoryNetwork({ seed: 32, latency: { minMs: 0, maxMs: 0 } });
    await publishMany(network, "user.alice.devices", 1);
    await network.runFor(HOUR - 1);
    expect(await historyOf(network, "user.alice.devices")).toEqual([0]);
    await network.runFor(1);
    expect(await historyOf(network, "user.alice.devices")).toEqual([]);
  });

  test("channels kept longer keep their messages: notifications for 7 days", async () => {
    const network = new MemoryNetwork({ seed: 33 });
    await publishMany(network, "user.alice.notifications", 3);
    await network.runFor(6 * 24 * HOUR);
    expect(await historyOf(network, "user.alice.notifications")).toEqual([0, 1, 2]);
  });

  test("analytics.viewing and storeInHistory false are delivered but never stored", async () => {
    const network = new MemoryNetwork({ seed: 34 });
    const [a, b] = [network.client("a"), network.client("b")];
    const recorder = record(b);
    await network.runUntilSettled(b.subscribe({ channels: ["analytics.viewing", "party.p"] }));
    const acks = [
      await network.runUntilSettled(a.publish("analytics.viewing", { seq: 0 })),
      await network.runUntilSettled(a.publish("party.p", { seq: 1 }, { storeInHistory: false })),
      await network.runUntilSettled(a.publish("party.p", { seq: 2 })),
    ];
    await network.runUntilQuiet();
    expect(firstSeen(recorder.messages)).toEqual(acks.map((ack) => ack.timetoken));
    expect(await historyOf(network, "analytics.viewing")).toEqual([]);
    expect(await historyOf(network, "party.p")).toEqual([2]);
  });

  test("overrides by channel kind and by channel name; unknown names get the default row", async () => {
    const byKind = new MemoryNetwork({
      seed: 35,
      retention: { "user.sync": { count: 2, durationMs: HOUR } },
    });
    await publishMany(byKind, "user.alice.sync", 5);
    expect(await historyOf(byKind, "user.alice.sync")).toEqual([3, 4]);

    const byName = new MemoryNetwork({
      seed: 36,
      retention: (channel) => (channel === "party.small" ? { count: 1, durationMs: HOUR } : undefined),
    });
    await publishMany(byName, "party.small", 3);
    await publishMany(byName, "party.big", 3);
    await publishMany(byName, "some-other-service", 120);
    expect(await historyOf(byName, "party.small")).toEqual([2]);
    expect(await historyOf(byName, "party.big")).toEqual([0, 1, 2]);
    expect((await historyOf(byName, "some-other-service")).length).toBe(100);

    expect(() => new MemoryNetwork({ seed: 1, retention: { party: { count: -1, durationMs: 1 } } })).toThrow(
      RangeError,
    );
  });

  test("history follows PubNub's range: start exclusive, end inclusive, the newest count between, oldest first", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 25 }),
        fc.array(
          fc.record({
            start: fc.option(fc.integer({ min: -1, max: 26 }), { nil: undefined }),
            end: fc.option(fc.integer({ min: -1, max: 26 }), { nil: undefined }),
            count: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (n, queries) => {
          const network = new MemoryNetwork({ seed: n, latency: { minMs: 0, maxMs: 3 } });
          const publisher = network.client("pub");
          const acks = await network.runUntilSettled(
            Promise.all(Array.from({ length: n }, (_, seq) => publisher.publish("party.h", { seq }))),
          );
          const tts = acks.map((ack) => BigInt(ack.timetoken));
          // A bound picks a stored timetoken, or one just outside the stored range.
          const bound = (i: number): bigint =>
            n === 0
              ? BigInt(network.now()) * 10_000n
              : i < 0
                ? tts[0]! - 1n
                : i >= n
                  ? tts[n - 1]! + 1n
                  : tts[i]!;
          for (const query of queries) {
            const start = query.start === undefined ? undefined : bound(query.start);
            const end = query.end === undefined ? undefined : bound(query.end);
            const count = query.count ?? 100;
            const expected = Array.from({ length: n }, (_, seq) => seq)
              .filter(
                (seq) =>
                  (start === undefined || tts[seq]! < start) && (end === undefined || tts[seq]! >= end),
              )
              .slice(-count);
            const result = await network.runUntilSettled(
              publisher.history("party.h", {
                ...(start === undefined ? {} : { start: start.toString() }),
                ...(end === undefined ? {} : { end: end.toString() }),
                ...(query.count === undefined ? {} : { count }),
              }),
            );
            expect(result.messages.map((message) => (message.payload as { seq: number }).seq)).toEqual(
              expected,
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
