import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DoubleSpentDotError,
  type OrSet,
  orSetAdd,
  orSetAddDelta,
  orSetClone,
  orSetEmpty,
  orSetEquals,
  orSetFromJSON,
  orSetHas,
  orSetJoin,
  orSetJoinInto,
  orSetPayload,
  orSetRemove,
  orSetToJSON,
  orSetValues,
} from "../src/or-set.js";
import { ValidationError } from "../src/schema.js";
import { checkJoinLawsOnTriples } from "../src/testing/join-laws.js";
import { orSetHistoryArbitrary, orSetOracle, runOrSetHistory } from "../src/testing/or-set-histories.js";

/** A delivery schedule: a permutation of the deltas with some repeated. */
const scheduleArb = (deltaCount: number) =>
  fc
    .tuple(
      fc.shuffledSubarray(
        Array.from({ length: deltaCount }, (_, i) => i),
        { minLength: deltaCount, maxLength: deltaCount },
      ),
      fc.array(fc.nat({ max: Math.max(0, deltaCount - 1) }), { maxLength: deltaCount }),
      fc.array(fc.nat(), { maxLength: deltaCount }),
    )
    .map(([order, duplicates, positions]) => {
      const out = [...order];
      if (deltaCount === 0) return out;
      duplicates.forEach((delta, i) => {
        out.splice((positions[i] ?? 0) % (out.length + 1), 0, delta);
      });
      return out;
    });

function view(set: OrSet): Record<string, unknown> {
  return Object.fromEntries(orSetValues(set).map((e) => [e, orSetPayload(set, e)]));
}

describe("OR-Set join laws", () => {
  test("join is commutative, associative and idempotent over states of one history", () => {
    const triples = orSetHistoryArbitrary({ minReplicas: 3, maxReplicas: 4 }).map(
      (h) => [h.states[0]!, h.states[1]!, h.states[2]!] as const,
    );
    checkJoinLawsOnTriples(triples, orSetJoin, orSetEquals);
  });

  test("the laws hold for deltas too (any three deltas of one history)", () => {
    const triples = orSetHistoryArbitrary({ maxSteps: 30 })
      .filter((h) => h.deltas.length > 0)
      .chain((h) => {
        const pick = fc.nat({ max: h.deltas.length - 1 }).map((i) => h.deltas[i]!);
        return fc.tuple(pick, pick, pick);
      });
    checkJoinLawsOnTriples(triples, orSetJoin, orSetEquals);
  });

  test("joinInto and the pure join agree, and the pure join mutates nothing", () => {
    fc.assert(
      fc.property(orSetHistoryArbitrary(), (h) => {
        const [a, b] = [h.states[0]!, h.states[1]!];
        const before = [JSON.stringify(orSetToJSON(a)), JSON.stringify(orSetToJSON(b))];
        const pure = orSetJoin(a, b);
        expect([JSON.stringify(orSetToJSON(a)), JSON.stringify(orSetToJSON(b))]).toEqual(before);
        const owned = orSetClone(a);
        orSetJoinInto(owned, b);
        expect(orSetEquals(owned, pure)).toBe(true);
      }),
    );
  });
});

describe("OR-Set convergence against the add-wins oracle", () => {
  test("2–5 replicas, random adds and removes, every delivery order with duplicates: all converge to the oracle", () => {
    fc.assert(
      fc.property(
        orSetHistoryArbitrary({ minReplicas: 2, maxReplicas: 5, maxSteps: 50 }).chain((h) =>
          fc.tuple(
            fc.constant(h),
            fc.array(scheduleArb(h.deltas.length), {
              minLength: h.replicas.length,
              maxLength: h.replicas.length,
            }),
          ),
        ),
        ([history, schedules]) => {
          const expected = Object.fromEntries(
            [...orSetOracle(history.log)].sort(([x], [y]) => (x < y ? -1 : 1)),
          );
          const finals = history.states.map((state, i) => {
            const replica = orSetClone(state);
            for (const delta of schedules[i]!) orSetJoinInto(replica, history.deltas[delta]!);
            return replica;
          });
          // A fresh replica that only ever hears the deltas, in its own order, agrees too.
          const fresh = orSetEmpty();
          for (const delta of schedules[0]!.slice().reverse()) orSetJoinInto(fresh, history.deltas[delta]!);
          for (const replica of [...finals, fresh]) {
            expect(view(replica)).toEqual(expected);
            expect(orSetEquals(replica, finals[0]!)).toBe(true);
          }
        },
      ),
    );
  });

  test("a late add whose dot is beyond a gap survives (no gap-filling)", () => {
    // B adds x with (B,1), then y with (B,2). A hears only y's delta, removes y, then hears x.
    const d1 = orSetAddDelta(orSetEmpty(), "x", "B");
    const d2 = orSetAddDelta(orSetJoin(orSetEmpty(), d1), "y", "B");
    expect(d2.entries.get("y")![0]!.counter).toBe(2);
    const a = orSetJoin(orSetEmpty(), d2); // A has seen (B,2) only
    const removed = orSetRemove(a, "y").state;
    const final = orSetJoin(removed, d1); // (B,1) arrives late
    expect(orSetValues(final)).toEqual(["x"]);
  });
});

describe("OR-Set single replica behaves like a JS Set", () => {
  test("model-based: add/remove/has sequences", () => {
    const op = fc.tuple(fc.constantFrom("add", "remove", "has"), fc.constantFrom("a", "b", "c", "d"));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let set = orSetEmpty();
        const model = new Set<string>();
        for (const [kind, element] of ops) {
          if (kind === "add") {
            set = orSetAdd(set, element, "tv").state;
            model.add(element);
          } else if (kind === "remove") {
            set = orSetRemove(set, element).state;
            model.delete(element);
          }
          expect(orSetHas(set, element)).toBe(model.has(element));
          expect(orSetValues(set)).toEqual([...model].sort());
        }
      }),
    );
  });

  test("after 10 000 random adds/removes the state holds no dot for an absent element and a compact context", () => {
    const random = fc.sample(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 199 })), {
      numRuns: 10_000,
      seed: 42,
    });
    const state = orSetEmpty();
    const model = new Set<string>();
    for (const [add, n] of random) {
      const element = `tmdb:${n}`;
      if (add) {
        orSetJoinInto(state, orSetAddDelta(state, element, "tv-1", { title: element }));
        model.add(element);
      } else {
        orSetJoinInto(state, orSetRemove(state, element).delta);
        model.delete(element);
      }
    }
    const json = orSetToJSON(state);
    expect(Object.keys(json.entries).sort()).toEqual([...model].sort());
    for (const dots of Object.values(json.entries)) expect(dots).toHaveLength(1);
    expect(json.context.cloud).toEqual({});
    expect(Object.keys(json.context.vv)).toEqual(["tv-1"]);
  });
});

describe("spec 7.2: Fight Club added, removed, added again on three devices", () => {
  // TV adds; the phone, having seen the TV's add, removes it; the web, having seen both, adds it again.
  const tvDelta = orSetAdd(orSetEmpty(), "Fight Club", "tv").delta;
  const phoneState = orSetJoin(orSetEmpty(), tvDelta);
  const phoneDelta = orSetRemove(phoneState, "Fight Club").delta;
  const webState = orSetJoin(orSetJoin(orSetEmpty(), tvDelta), phoneDelta);
  const webDelta = orSetAdd(webState, "Fight Club", "web").delta;
  // The web device might also not have seen the remove: its add is concurrent with it.
  const concurrentWebDelta = orSetAdd(orSetJoin(orSetEmpty(), tvDelta), "Fight Club", "web").delta;
  const permutations = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];

  for (const [label, web] of [
    ["web saw the remove", webDelta],
    ["web add concurrent with the remove", concurrentWebDelta],
  ] as const) {
    test(`${label}: IN the set on every replica in all 6 arrival orders, with duplicates`, () => {
      const deltas = [tvDelta, phoneDelta, web];
      for (const order of permutations) {
        for (const start of [orSetEmpty(), phoneState, webState]) {
          const replica = orSetClone(start);
          for (const i of order) orSetJoinInto(replica, deltas[i]!);
          for (const i of order) orSetJoinInto(replica, deltas[i]!); // duplicates change nothing
          expect(orSetValues(replica)).toEqual(["Fight Club"]);
          expect(orSetToJSON(replica).entries["Fight Club"]).toEqual([["web", 1]]);
        }
      }
    });
  }
});

describe("double-spent dots", () => {
  test("join rejects a dot under two elements and leaves the target untouched", () => {
    const a = orSetAdd(orSetEmpty(), "x", "r").state;
    const b = orSetAdd(orSetEmpty(), "y", "r").state; // mints (r,1) too: a buggy or cloned replica
    const target = orSetClone(a);
    expect(() => orSetJoinInto(target, b)).toThrow(DoubleSpentDotError);
    expect(orSetEquals(target, a)).toBe(true);
    expect(() => orSetJoin(a, b)).toThrow(/dot \["r", 1\] is under both "x" and "y"/);
  });

  test("fromJSON rejects it with a typed error", () => {
    const json = {
      entries: { x: [["r", 1]], y: [["r", 1]] },
      context: { vv: { r: 1 }, cloud: {} },
    };
    expect(() => orSetFromJSON(json)).toThrow(DoubleSpentDotError);
  });
});

describe("OR-Set JSON", () => {
  test("round-trips exactly, states and deltas", () => {
    fc.assert(
      fc.property(orSetHistoryArbitrary(), (h) => {
        for (const set of [...h.states, ...h.deltas]) {
          const json = orSetToJSON(set);
          const back = orSetFromJSON(JSON.parse(JSON.stringify(json)));
          expect(orSetToJSON(back)).toEqual(json);
          expect(orSetEquals(back, set)).toBe(true);
        }
      }),
    );
  });

  test("fromJSON names the path and the reason", () => {
    const message = (input: unknown) => {
      try {
        orSetFromJSON(input);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as Error).message;
      }
      throw new Error("expected a ValidationError");
    };
    const context = { vv: { "tv-1": 2 }, cloud: {} };
    expect(message({ entries: {}, context: { vv: { "tv-1": 0 } } })).toBe(
      "context.vv.tv-1: expected a positive integer, got 0",
    );
    expect(message({ entries: { a: [["tv-1", 3]] }, context })).toBe(
      'entries.a[0]: dot ["tv-1", 3] is not in the context',
    );
    expect(message({ entries: { a: [] }, context })).toBe("entries.a: expected a non-empty array of dots");
    expect(message({ entries: { a: [["tv 1", 1]] }, context })).toBe(
      "entries.a[0][0]: expected an id without whitespace or control characters",
    );
    expect(message({ entries: { a: [["tv-1", 1, Number.NaN]] }, context })).toBe(
      "entries.a[0][2]: expected a JSON value, got NaN",
    );
    expect(message({ entries: [], context })).toBe("entries: expected an object of element → dots");
  });

  test("an element named __proto__ is data, not a prototype", () => {
    const set = orSetAdd(orSetEmpty(), "__proto__", "r", { title: "x" }).state;
    const json = JSON.parse(JSON.stringify(orSetToJSON(set)));
    expect(orSetValues(orSetFromJSON(json))).toEqual(["__proto__"]);
  });
});

test("a history replays deterministically", () => {
  const steps = [
    { kind: "add", replica: 0, element: "a" },
    { kind: "deliver", replica: 1, delta: 0 },
    { kind: "remove", replica: 1, element: "a" },
  ] as const;
  const h = runOrSetHistory(2, steps);
  expect(orSetValues(h.states[1]!)).toEqual([]);
  expect(orSetValues(h.states[0]!)).toEqual(["a"]);
  expect([...orSetOracle(h.log).keys()]).toEqual([]);
});
