import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type LwwMap,
  type LwwMapEntry,
  lwwMapCheck,
  lwwMapDelete,
  lwwMapDeleteDelta,
  lwwMapEmpty,
  lwwMapEntries,
  lwwMapEquals,
  lwwMapFromJSON,
  lwwMapGet,
  lwwMapJoin,
  lwwMapJoinInto,
  lwwMapKeys,
  lwwMapSet,
  lwwMapSetDelta,
  lwwMapToJSON,
  type MutableLwwMap,
} from "../src/lww-map.js";
import { integer, parseWith, string, ValidationError } from "../src/schema.js";
import { checkJoinLaws } from "../src/testing/join-laws.js";
import { LWW_TEST_KEYS, LWW_TEST_NODES, lwwMapArbitrary } from "../src/testing/lww-arbitraries.js";

/** A map whose `entries` throws on any write, with frozen entries: proof that a function is pure. */
class FrozenMap<K, V> extends Map<K, V> {
  private readonly sealed: boolean;
  constructor(source: Iterable<readonly [K, V]>) {
    super();
    for (const [key, value] of source) super.set(key, Object.freeze(value));
    this.sealed = true;
  }
  override set(key: K, value: V): this {
    if (this.sealed) throw new Error("mutated an input map");
    return super.set(key, value);
  }
  override delete(): boolean {
    throw new Error("mutated an input map");
  }
  override clear(): void {
    throw new Error("mutated an input map");
  }
}

function frozen<T>(map: LwwMap<T>): LwwMap<T> {
  return Object.freeze({ entries: new FrozenMap(map.entries) });
}

function copy<T>(map: LwwMap<T>): MutableLwwMap<T> {
  return { entries: new Map(map.entries) };
}

/** Visible value of `key`, boxed so a live `null` differs from absence. */
function visible<T>(map: LwwMap<T>, key: string): string {
  const entry = map.entries.get(key);
  return entry === undefined || entry.deleted ? "absent" : `live:${canonical(entry.value)}`;
}

/** Independent canonical JSON for the test oracle (sorted keys, code-unit order). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** (ts, node by UTF-16 code units): DEVIATIONS 3, stated again independently of the source. */
function stampLess(a: { ts: number; node: string }, b: { ts: number; node: string }): boolean {
  if (a.ts !== b.ts) return a.ts < b.ts;
  for (let i = 0; i < Math.min(a.node.length, b.node.length); i++) {
    const d = a.node.charCodeAt(i) - b.node.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return a.node.length < b.node.length;
}

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error("expected a ValidationError");
}

/** Every ordering of `items` (items may repeat; repeated orderings are harmless). */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const out: T[][] = [];
  items.forEach((item, i) => {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([item, ...rest]);
  });
  return out;
}

const maps = lwwMapArbitrary();

describe("join", () => {
  it("is commutative, associative and idempotent", () => {
    checkJoinLaws(maps, lwwMapJoin, lwwMapEquals);
  });

  it("lwwMapJoinInto on a copy gives lwwMapJoin, and reports exactly the keys whose visible value changed", () => {
    fc.assert(
      fc.property(maps, maps, (a, b) => {
        const target = copy(a);
        const changed = lwwMapJoinInto(target, b);
        const expected = LWW_TEST_KEYS.filter((k) => visible(a, k) !== visible(target, k));
        return (
          lwwMapEquals(target, lwwMapJoin(a, b)) && [...changed].sort().join() === expected.sort().join()
        );
      }),
    );
  });

  it("is the per-key maximum: every key of either input, holding an entry that beats or equals both", () => {
    fc.assert(
      fc.property(maps, maps, (a, b) => {
        const joined = lwwMapJoin(a, b);
        for (const key of LWW_TEST_KEYS) {
          const x = a.entries.get(key);
          const y = b.entries.get(key);
          const z = joined.entries.get(key);
          if (x === undefined && y === undefined) {
            if (z !== undefined) return false;
            continue;
          }
          if (z === undefined || (z !== x && z !== y)) return false;
          for (const other of [x, y]) if (other !== undefined && stampLess(z, other)) return false;
        }
        return true;
      }),
    );
  });

  it("never mutates its inputs (pure functions on frozen maps)", () => {
    fc.assert(
      fc.property(maps, maps, fc.constantFrom(...LWW_TEST_KEYS), (a, b, key) => {
        const before = JSON.stringify([lwwMapToJSON(a), lwwMapToJSON(b)]);
        const fa = frozen(a);
        const fb = frozen(b);
        lwwMapJoin(fa, fb);
        lwwMapJoin(fb, fa);
        lwwMapSet(fa, key, 9, 2, "tv");
        lwwMapDelete(fa, key, 2, "tv");
        lwwMapGet(fa, key);
        lwwMapKeys(fa);
        lwwMapEntries(fa);
        lwwMapToJSON(fa);
        lwwMapEquals(fa, fb);
        const target = copy(a);
        lwwMapJoinInto(target, fb);
        return JSON.stringify([lwwMapToJSON(a), lwwMapToJSON(b)]) === before;
      }),
    );
  });

  it("joinInto mutates only its target", () => {
    const target = lwwMapSetDelta("a", 1, 1, "tv");
    const delta = frozen(lwwMapSetDelta("a", 2, 2, "tv"));
    expect(lwwMapJoinInto(target, delta)).toEqual(["a"]);
    expect(lwwMapGet(target, "a")).toBe(2);
  });
});

describe("set and delete", () => {
  it("set returns the joined state and a delta holding only that key", () => {
    const base = lwwMapSet(lwwMapEmpty<number>(), "volume", 40, 10, "tv").state;
    const { state, delta } = lwwMapSet(base, "brightness", 70, 11, "phone");
    expect([...delta.entries.keys()]).toEqual(["brightness"]);
    expect(lwwMapEntries(state)).toEqual([
      ["brightness", 70],
      ["volume", 40],
    ]);
    expect(lwwMapEquals(state, lwwMapJoin(base, delta))).toBe(true);
    expect(lwwMapEntries(base)).toEqual([["volume", 40]]);
  });

  it("delete hides the key, keeps a deletion marker, and its delta holds only that key", () => {
    const base = lwwMapSet(lwwMapEmpty<number>(), "volume", 40, 10, "tv").state;
    const { state, delta } = lwwMapDelete(base, "volume", 11, "phone");
    expect(lwwMapGet(state, "volume")).toBeUndefined();
    expect(lwwMapKeys(state)).toEqual([]);
    expect(lwwMapToJSON(delta)).toEqual({ entries: { volume: { deleted: true, ts: 11, node: "phone" } } });
    expect(lwwMapToJSON(state)).toEqual(lwwMapToJSON(delta));
  });

  it("a delete of an absent key still beats an older set that arrives later", () => {
    const { state } = lwwMapDelete(lwwMapEmpty<number>(), "volume", 5, "tv");
    expect(lwwMapGet(lwwMapJoin(state, lwwMapSetDelta("volume", 1, 4, "tv")), "volume")).toBeUndefined();
  });

  it("a set older than the key's current stamp loses, as on every other replica", () => {
    const base = lwwMapSet(lwwMapEmpty<number>(), "volume", 40, 10, "tv").state;
    const { state, delta } = lwwMapSet(base, "volume", 20, 9, "tv");
    expect(lwwMapGet(state, "volume")).toBe(40);
    expect(lwwMapGet(delta, "volume")).toBe(20);
  });

  // Deltas: set@1 (phone), delete@2 (tv), set@3 (web); and the same with the delete last.
  const cases: [string, MutableLwwMap<string>[], string | undefined][] = [
    [
      "older set, newer delete",
      [lwwMapSetDelta("k", "v1", 1, "phone"), lwwMapDeleteDelta("k", 2, "tv")],
      undefined,
    ],
    [
      "older delete, newer set",
      [lwwMapDeleteDelta("k", 1, "tv"), lwwMapSetDelta("k", "v2", 2, "phone")],
      "v2",
    ],
    [
      "delete between two sets",
      [
        lwwMapSetDelta("k", "v1", 1, "phone"),
        lwwMapDeleteDelta("k", 2, "tv"),
        lwwMapSetDelta("k", "v3", 3, "web"),
      ],
      "v3",
    ],
    [
      "delete after two sets",
      [
        lwwMapSetDelta("k", "v1", 1, "phone"),
        lwwMapSetDelta("k", "v2", 2, "web"),
        lwwMapDeleteDelta("k", 3, "tv"),
      ],
      undefined,
    ],
    [
      "equal timestamps: the greater node decides",
      [lwwMapDeleteDelta("k", 5, "phone"), lwwMapSetDelta("k", "v", 5, "tv")],
      "v",
    ],
  ];

  it.each(cases)("%s: the same result in every delivery order, with duplicates", (_, deltas, expected) => {
    // Each delta delivered twice: every ordering of the multiset.
    const orders = permutations([...deltas, ...deltas]);
    expect(orders.length).toBeGreaterThanOrEqual(24);
    for (const order of orders) {
      const inPlace = lwwMapEmpty<string>();
      let pure: MutableLwwMap<string> = lwwMapEmpty();
      for (const delta of order) {
        lwwMapJoinInto(inPlace, delta);
        pure = lwwMapJoin(pure, delta);
      }
      expect(lwwMapGet(inPlace, "k")).toBe(expected);
      expect(lwwMapGet(pure, "k")).toBe(expected);
      expect(lwwMapEquals(inPlace, pure)).toBe(true);
    }
  });

  it("a delete beats any older set and loses to any newer one, in both orders", () => {
    const stamp = fc.record({ ts: fc.integer({ min: 0, max: 3 }), node: fc.constantFrom(...LWW_TEST_NODES) });
    fc.assert(
      fc.property(stamp, stamp, fc.integer(), (s, d, value) => {
        fc.pre(stampLess(s, d) || stampLess(d, s));
        const set = lwwMapSetDelta("k", value, s.ts, s.node);
        const del = lwwMapDeleteDelta<number>("k", d.ts, d.node);
        const expected = stampLess(s, d) ? undefined : value;
        return (
          lwwMapGet(lwwMapJoin(set, del), "k") === expected &&
          lwwMapGet(lwwMapJoin(del, set), "k") === expected
        );
      }),
    );
  });

  it("on an equal stamp (a reused timestamp) a deletion beats a value, even null, in both orders", () => {
    for (const value of [null, 0, "x"]) {
      const set = lwwMapSetDelta<unknown>("k", value, 5, "tv");
      const del = lwwMapDeleteDelta<unknown>("k", 5, "tv");
      expect(lwwMapJoin(set, del).entries.get("k")).toBe(del.entries.get("k"));
      expect(lwwMapJoin(del, set).entries.get("k")).toBe(del.entries.get("k"));
      const target = copy(set);
      expect(lwwMapJoinInto(target, del)).toEqual(["k"]);
      expect(lwwMapJoinInto(target, set)).toEqual([]);
    }
  });

  it("rejects misuse naming the argument", () => {
    expect(() => lwwMapSetDelta("k", 1, -1, "tv")).toThrow(RangeError);
    expect(() => lwwMapSetDelta("k", 1, 0.5, "tv")).toThrow(/^ts: /);
    expect(() => lwwMapDeleteDelta("k", 1, "")).toThrow(TypeError);
    expect(() => lwwMapSet(lwwMapEmpty(), 7 as unknown as string, 1, 1, "tv")).toThrow(/^key: /);
  });
});

describe("reads", () => {
  it("get is undefined for absent and deleted keys, and returns live values including null", () => {
    let map: MutableLwwMap<number | null> = lwwMapEmpty();
    map = lwwMapSet(map, "a", null, 1, "tv").state;
    map = lwwMapSet(map, "b", 2, 1, "tv").state;
    map = lwwMapDelete(map, "b", 2, "tv").state;
    expect(lwwMapGet(map, "a")).toBeNull();
    expect(lwwMapGet(map, "b")).toBeUndefined();
    expect(lwwMapGet(map, "c")).toBeUndefined();
  });

  it("keys and entries list live keys only, sorted by UTF-16 code units", () => {
    const map = lwwMapEmpty<number>();
    const keys = ["é", "b", "__proto__", "Z", "\u{1F4FA}", "\uFFFF", "gone", "a"];
    keys.forEach((key, i) => {
      lwwMapJoinInto(map, lwwMapSetDelta(key, i, 1, "tv"));
    });
    lwwMapJoinInto(map, lwwMapDeleteDelta("gone", 2, "tv"));
    const sorted = ["Z", "__proto__", "a", "b", "é", "\u{1F4FA}", "\uFFFF"];
    expect(lwwMapKeys(map)).toEqual(sorted);
    expect(lwwMapEntries(map)).toEqual(sorted.map((k) => [k, keys.indexOf(k)]));
  });

  it("treats __proto__ as a plain key, in state and in JSON", () => {
    const { state } = lwwMapSet(
      lwwMapEmpty<{ polluted: boolean }>(),
      "__proto__",
      { polluted: true },
      1,
      "tv",
    );
    const json = lwwMapToJSON(state);
    expect(Object.getPrototypeOf(json.entries)).toBe(Object.prototype);
    expect(Object.keys(json.entries)).toEqual(["__proto__"]);
    const back = lwwMapFromJSON(JSON.parse(JSON.stringify(json)));
    expect(lwwMapGet(back, "__proto__")).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("change list of lwwMapJoinInto", () => {
  const set = (value: number, ts: number) => lwwMapSetDelta("k", value, ts, "tv");
  const del = (ts: number) => lwwMapDeleteDelta<number>("k", ts, "tv");
  it.each([
    ["a new key", [], set(1, 1), ["k"]],
    ["a deletion of an absent key", [], del(1), []],
    ["a newer, different value", [set(1, 1)], set(2, 2), ["k"]],
    ["a newer, equal value", [set(1, 1)], set(1, 2), []],
    ["an older value", [set(1, 2)], set(2, 1), []],
    ["a duplicate", [set(1, 1)], set(1, 1), []],
    ["a deletion of a live key", [set(1, 1)], del(2), ["k"]],
    ["a newer deletion of a deleted key", [del(1)], del(2), []],
    ["a set over a deletion", [del(1)], set(1, 2), ["k"]],
    ["a set older than the deletion", [del(2)], set(1, 1), []],
  ] as const)("%s", (_, history, delta, expected) => {
    const target = lwwMapEmpty<number>();
    for (const h of history) lwwMapJoinInto(target, h);
    expect(lwwMapJoinInto(target, delta)).toEqual(expected);
  });
});

interface Op {
  readonly key: string;
  readonly ts: number;
  readonly node: string;
  /** `undefined` for a delete. */
  readonly value: number | undefined;
}

function opDelta(op: Op): MutableLwwMap<number> {
  return op.value === undefined
    ? lwwMapDeleteDelta(op.key, op.ts, op.node)
    : lwwMapSetDelta(op.key, op.value, op.ts, op.node);
}

const KEYS = ["a", "b", "__proto__"];
const NODES = ["Z", "a", "tv", "é"];
const op: fc.Arbitrary<Op> = fc.record({
  key: fc.constantFrom(...KEYS),
  ts: fc.integer({ min: 0, max: 6 }),
  node: fc.constantFrom(...NODES),
  value: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});

/** Each op's index 1–3 times (duplicates), in an arbitrary order. */
function delivery(count: number): fc.Arbitrary<number[]> {
  return fc
    .array(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), { minLength: count, maxLength: count })
    .map((priorities) =>
      priorities
        .flatMap((ps, index) => ps.map((p) => [p, index] as const))
        .sort((x, y) => x[0] - y[0])
        .map(([, index]) => index),
    );
}

function scenario(ops: fc.Arbitrary<Op[]>) {
  return ops.chain((list) =>
    fc.tuple(fc.constant(list), fc.array(delivery(list.length), { minLength: 3, maxLength: 3 })),
  );
}

describe("convergence", () => {
  it("replicas applying set/delete deltas in any order, with duplicates, equal the max-(ts, node) model", () => {
    // A correct HLC never issues one stamp twice, so the model's per-key max is unique.
    const uniqueStamps = fc.uniqueArray(op, {
      selector: (o) => `${o.ts}/${o.node}`,
      minLength: 1,
      maxLength: 24,
    });
    fc.assert(
      fc.property(scenario(uniqueStamps), ([ops, orders]) => {
        const model = new Map<string, Op>();
        for (const o of ops) {
          const best = model.get(o.key);
          if (best === undefined || stampLess(best, o)) model.set(o.key, o);
        }
        const expectedEntries = [...model.values()]
          .filter((o) => o.value !== undefined)
          .map((o) => [o.key, o.value])
          .sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1));
        const deltas = ops.map(opDelta);
        for (const order of orders) {
          const replica = lwwMapEmpty<number>();
          for (const i of order) lwwMapJoinInto(replica, deltas[i]!);
          expect(lwwMapEntries(replica)).toEqual(expectedEntries);
          expect(replica.entries.size).toBe(model.size);
          for (const [key, o] of model) {
            const entry = replica.entries.get(key) as LwwMapEntry<number>;
            expect([entry.ts, entry.node, entry.deleted]).toEqual([o.ts, o.node, o.value === undefined]);
          }
        }
      }),
    );
  });

  it("replicas converge even when a device reuses a stamp for different writes", () => {
    fc.assert(
      fc.property(scenario(fc.array(op, { minLength: 1, maxLength: 24 })), ([ops, orders]) => {
        const deltas = ops.map(opDelta);
        const replicas = orders.map((order, r) => {
          let replica = lwwMapEmpty<number>();
          // One replica joins purely, folding the other way round.
          for (const i of order)
            if (r === 0) replica = lwwMapJoin(deltas[i]!, replica);
            else lwwMapJoinInto(replica, deltas[i]!);
          return replica;
        });
        const json = replicas.map((r) => JSON.stringify(lwwMapToJSON(r)));
        return json.every((j) => j === json[0]);
      }),
    );
  });
});

describe("JSON", () => {
  it("round-trips every map exactly, deletion markers included", () => {
    fc.assert(
      fc.property(maps, (map) => {
        const json = lwwMapToJSON(map);
        const text = JSON.stringify(json);
        const back = lwwMapFromJSON(JSON.parse(text));
        return lwwMapEquals(back, map) && JSON.stringify(lwwMapToJSON(back)) === text;
      }),
    );
  });

  it("has the documented shape, keys sorted", () => {
    let map = lwwMapEmpty<number>();
    map = lwwMapSet(map, "volume", 40, 1733500800000000, "tv-1").state;
    map = lwwMapDelete(map, "muted", 1733500800000001, "phone-1").state;
    expect(JSON.stringify(lwwMapToJSON(map))).toBe(
      '{"entries":{"muted":{"deleted":true,"ts":1733500800000001,"node":"phone-1"},' +
        '"volume":{"value":40,"ts":1733500800000000,"node":"tv-1"}}}',
    );
  });

  it("drops unknown fields and accepts an explicit deleted: false", () => {
    const map = lwwMapFromJSON({
      v: 2,
      entries: { a: { value: 1, ts: 1, node: "tv", deleted: false, x: 1 } },
    });
    expect(lwwMapToJSON(map)).toStrictEqual({ entries: { a: { value: 1, ts: 1, node: "tv" } } });
  });

  const live = { value: 1, ts: 1, node: "tv" };
  it.each([
    [[], "", /^expected an object, got an array$/],
    [{}, "entries", /^is required$/],
    [{ entries: [] }, "entries", /^expected an object, got an array$/],
    [{ entries: { volume: 3 } }, "entries.volume", /^expected an object/],
    [{ entries: { volume: { ...live, ts: 1.5 } } }, "entries.volume.ts", /^expected a.*integer.*1\.5$/],
    [{ entries: { volume: { ...live, ts: -1 } } }, "entries.volume.ts", /integer.*-1$/],
    [{ entries: { ok: live, volume: { ...live, node: "my tv" } } }, "entries.volume.node", /whitespace/],
    [{ entries: { volume: { ts: 1, node: "tv" } } }, "entries.volume.value", /^is required$/],
    [
      { entries: { volume: { ...live, deleted: true } } },
      "entries.volume.value",
      /deleted entry carries no value/,
    ],
    [{ entries: { volume: { ...live, deleted: "yes" } } }, "entries.volume.deleted", /boolean/],
    // JSON text, so `__proto__` arrives as an own key, as from the network.
    ['{"entries":{"__proto__":{"value":1,"ts":null,"node":"tv"}}}', "entries.__proto__.ts", /integer/],
  ])("rejects %j at %s (%s)", (input, path, reason) => {
    const text = typeof input === "string" ? input : JSON.stringify(input);
    const error = thrown(() => lwwMapFromJSON(JSON.parse(text)));
    expect(error.path).toBe(path);
    expect(error.reason).toMatch(reason);
  });

  it("validates values with the given check, and keys with the given rules", () => {
    const volume = integer({ min: 0, max: 100 });
    expect(
      thrown(() => lwwMapFromJSON({ entries: { v: { value: 101, ts: 1, node: "tv" } } }, volume)).path,
    ).toBe("entries.v.value");
    const check = lwwMapCheck(volume, { key: string({ max: 3 }), maxKeys: 1 });
    expect(parseWith(check, { entries: { long: live } })).toMatchObject({
      ok: false,
      error: { path: "entries.long" },
    });
    expect(parseWith(check, { entries: { a: live, b: live } })).toMatchObject({
      ok: false,
      error: { path: "entries" },
    });
    expect(parseWith(check, { entries: { a: live } })).toMatchObject({ ok: true });
  });
});
