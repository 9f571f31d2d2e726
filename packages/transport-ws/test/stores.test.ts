import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodePrometheus,
  MemoryChannelGroupStore,
  MemoryHistoryStore,
  MemoryPresenceTable,
} from "../src/server/index.js";

const T0 = 1_733_500_800_000;
const KEEP = { count: 1000, durationMs: 3_600_000 };
const input = (payload: unknown, store = true) => ({ publisher: "p", payload, store, retention: KEEP });

describe("MemoryHistoryStore", () => {
  it("gives strictly increasing timetokens per channel, even within one millisecond or with the clock going back", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 50 }),
        async (steps) => {
          const store = new MemoryHistoryStore({ nowMs: T0 });
          let now = T0;
          let last = 0n;
          for (const step of steps) {
            now += step;
            const { timetoken } = await store.append("a.b", input(step), now);
            expect(BigInt(timetoken) > last).toBe(true);
            last = BigInt(timetoken);
          }
          expect(BigInt(await store.head("a.b", now))).toBe(last);
        },
      ),
    );
  });

  it("keeps the retention count and age, and says gap only when something after `since` is gone", async () => {
    const store = new MemoryHistoryStore({ nowMs: T0 });
    const retention = { count: 3, durationMs: 1000 };
    const tts: string[] = [];
    for (let i = 0; i < 5; i++)
      tts.push((await store.append("a.b", { ...input(i), retention }, T0 + i)).timetoken);
    expect((await store.query("a.b", { count: 100 }, T0 + 5)).map((m) => m.payload)).toEqual([2, 3, 4]);
    expect(await store.after("a.b", tts[0]!, 100, T0 + 5)).toMatchObject({ gap: true });
    expect(await store.after("a.b", tts[1]!, 100, T0 + 5)).toMatchObject({ gap: false });
    expect((await store.after("a.b", tts[3]!, 100, T0 + 5)).messages.map((m) => m.payload)).toEqual([4]);
    // Age: at T0 + 1003 the message stamped T0 + 2 is over 1000 ms old.
    expect((await store.query("a.b", { count: 100 }, T0 + 1003)).map((m) => m.payload)).toEqual([3, 4]);
    expect(await store.after("a.b", tts[1]!, 100, T0 + 1003)).toMatchObject({ gap: true });
    expect(store.size).toBe(2);
    expect(await store.after("a.b", "1", 100, T0)).toMatchObject({ gap: true }); // older than the store
  });

  it("forgets idle empty channels but still reports a gap for a `since` before them", async () => {
    const store = new MemoryHistoryStore({ nowMs: T0 });
    const retention = { count: 10, durationMs: 100 };
    const first = await store.append("a.b", { ...input(1), retention }, T0);
    const { timetoken } = await store.append("a.b", { ...input(2), retention }, T0);
    await store.sweep(T0 + 1_000);
    expect(store.size).toBe(0);
    expect(await store.after("a.b", first.timetoken, 10, T0 + 1_000)).toMatchObject({
      gap: true,
      messages: [],
    });
    expect(await store.after("a.b", first.timetoken, 10, T0 + 1_000)).toMatchObject({ gap: true });
    // Whoever holds the newest message missed nothing.
    expect(await store.after("a.b", timetoken, 10, T0 + 1_000)).toMatchObject({ gap: false, messages: [] });
    const next = await store.append("a.b", { ...input(2), retention }, T0 + 1_001);
    expect(BigInt(next.timetoken) > BigInt(timetoken)).toBe(true);
  });

  it("does not keep unstored messages, and does not count them as a gap (ephemeral by choice)", async () => {
    const store = new MemoryHistoryStore({ nowMs: T0 });
    const first = await store.append("a.b", input(1), T0);
    await store.append("a.b", input(2, false), T0);
    await store.append("n.s", { ...input(3), retention: { count: 0, durationMs: 0 } }, T0);
    expect(store.size).toBe(1);
    expect(await store.after("a.b", first.timetoken, 10, T0)).toMatchObject({ gap: false, messages: [] });
  });
});

describe("MemoryPresenceTable", () => {
  it("joins once, changes state only on a new value, leaves gracefully, times out otherwise", async () => {
    const table = new MemoryPresenceTable({ defaultIntervalMs: 1000 });
    expect(await table.touch("c", "u", "conn1", {}, T0)).toMatchObject({ action: "join", occupancy: 1 });
    expect(await table.touch("c", "u", "conn2", {}, T0)).toBeUndefined();
    expect(await table.touch("c", "u", "conn1", { state: { value: { a: 1 } } }, T0)).toMatchObject({
      action: "state-change",
      state: { a: 1 },
    });
    expect(await table.touch("c", "u", "conn1", { state: { value: { a: 1 } } }, T0)).toBeUndefined();
    expect(await table.release("c", "u", "conn1", true, T0, T0)).toBeUndefined(); // conn2 still holds it
    expect(await table.release("c", "u", "conn2", false, T0, T0)).toBeUndefined();
    expect(await table.expire(T0 + 1999)).toEqual([]);
    expect(await table.expire(T0 + 2000)).toEqual([
      { channel: "c", action: "timeout", uuid: "u", occupancy: 0, timestampMs: T0 + 2000 },
    ]);
    expect(table.size).toBe(0);
    await table.touch("c", "v", "conn3", { intervalMs: 300_000 }, T0);
    await table.release("c", "v", "conn3", false, T0, T0);
    expect(await table.expire(T0 + 599_999)).toEqual([]);
    expect(await table.expire(T0 + 600_000)).toHaveLength(1);
  });

  it("hereNow lists occupants, with state on request", async () => {
    const table = new MemoryPresenceTable();
    await table.touch("c", "u", "k", { state: { value: "s" } }, T0);
    await table.touch("c", "w", "k", {}, T0);
    expect(await table.hereNow("c", true)).toEqual({
      occupancy: 2,
      occupants: [{ uuid: "u", state: "s" }, { uuid: "w" }],
    });
    expect(await table.hereNow("c", false)).toEqual({
      occupancy: 2,
      occupants: [{ uuid: "u" }, { uuid: "w" }],
    });
    expect(await table.hereNow("empty", true)).toEqual({ occupancy: 0, occupants: [] });
  });
});

describe("MemoryChannelGroupStore", () => {
  it("adds, removes, lists in order, deletes, and announces changes", async () => {
    const store = new MemoryChannelGroupStore();
    const changes: unknown[] = [];
    store.onChange((group, added, removed) => changes.push([group, added, removed]));
    expect(await store.add("g", ["a", "b", "a"], 10)).toEqual(["a", "b"]);
    expect(await store.add("g", ["b", "c"], 10)).toEqual(["c"]);
    expect(await store.add("g", ["d", "e"], 4)).toBeUndefined();
    expect(await store.remove("g", ["a", "zz"])).toEqual(["a"]);
    expect(await store.list("g")).toEqual(["b", "c"]);
    expect(await store.delete("g")).toEqual(["b", "c"]);
    expect(await store.list("g")).toEqual([]);
    expect(changes).toEqual([
      ["g", ["a", "b"], []],
      ["g", ["c"], []],
      ["g", [], ["a"]],
      ["g", [], ["b", "c"]],
    ]);
  });
});

describe("encodePrometheus", () => {
  it("writes HELP, TYPE and escaped labels", () => {
    expect(
      encodePrometheus([
        {
          name: "x_total",
          help: "a\\b\nc",
          type: "counter",
          samples: [{ labels: { code: 'q"\\\n' }, value: 3 }],
        },
        { name: "g", help: "h", type: "gauge", samples: [{ value: Number.POSITIVE_INFINITY }] },
      ]),
    ).toBe(
      '# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{code="q\\"\\\\\\n"} 3\n# HELP g h\n# TYPE g gauge\ng +Inf\n',
    );
  });
});
