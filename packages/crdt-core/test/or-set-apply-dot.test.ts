/**
 * `orSetApplyDotInto` (the single-message watchlist join) against the reference: building the
 * delta the message makes (as sync-state's `watchlistDelta` does) and running `orSetJoinInto`.
 * Same states down to iteration order of every Map and Set, same changes, same refusals.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ccAddInto, ccMax, type Dot } from "../src/causal-context.js";
import {
  DoubleSpentDotError,
  type OrSet,
  type OrSetChange,
  type OrSetDot,
  orSetApplyDotInto,
  orSetClone,
  orSetEmpty,
  orSetJoinInto,
} from "../src/or-set.js";

const ELEMENTS = ["x", "y", "z"];
const REPLICAS = ["a", "b", "c"];
const PAYLOADS: unknown[] = ["p", "q", { title: "T", year: 1999 }, { year: 1999, title: "T" }, 0];

/** A dot as the test describes it; resolved against the state when the message is applied. */
type DotSpec =
  | { readonly kind: "any"; readonly replica: number; readonly counter: number }
  /** The k-th live dot of the message's element (of any element if `anyElement`). */
  | { readonly kind: "live"; readonly k: number; readonly anyElement: boolean }
  /** One past the replica's greatest counter seen: what an honest add mints. */
  | { readonly kind: "next"; readonly replica: number; readonly skip: number };

interface MessageSpec {
  readonly element: number;
  readonly add: boolean;
  readonly dot: DotSpec;
  readonly observed: readonly DotSpec[];
  /** Observed as an honest builder sends them: sorted by counter. */
  readonly sorted: boolean;
  readonly payload: number;
}

const dotSpec: fc.Arbitrary<DotSpec> = fc.oneof(
  fc.record({
    kind: fc.constant("any" as const),
    replica: fc.nat({ max: REPLICAS.length - 1 }),
    counter: fc.integer({ min: 1, max: 9 }),
  }),
  fc.record({ kind: fc.constant("live" as const), k: fc.nat({ max: 3 }), anyElement: fc.boolean() }),
  fc.record({
    kind: fc.constant("next" as const),
    replica: fc.nat({ max: REPLICAS.length - 1 }),
    skip: fc.constantFrom(0, 0, 0, 1, 2),
  }),
);

const messageSpec: fc.Arbitrary<MessageSpec> = fc.record({
  element: fc.nat({ max: ELEMENTS.length - 1 }),
  add: fc.boolean(),
  dot: dotSpec,
  observed: fc.array(dotSpec, { maxLength: 5 }),
  sorted: fc.boolean(),
  payload: fc.nat({ max: PAYLOADS.length - 1 }),
});

interface Message {
  readonly element: string;
  readonly dot: Dot | undefined;
  readonly observed: readonly Dot[];
  readonly payload: unknown;
}

function resolve(state: OrSet, element: string, spec: DotSpec): Dot {
  switch (spec.kind) {
    case "any":
      return [REPLICAS[spec.replica]!, spec.counter];
    case "next": {
      const replica = REPLICAS[spec.replica]!;
      return [replica, ccMax(state.context, replica) + 1 + spec.skip];
    }
    case "live": {
      const live: OrSetDot[] = spec.anyElement
        ? [...state.entries.values()].flat()
        : [...(state.entries.get(element) ?? [])];
      const picked = live[spec.k % Math.max(1, live.length)];
      return picked === undefined
        ? [REPLICAS[spec.k % REPLICAS.length]!, spec.k + 2]
        : [picked.replica, picked.counter];
    }
  }
}

function message(state: OrSet, spec: MessageSpec): Message {
  const element = ELEMENTS[spec.element]!;
  const observed = spec.observed.map((d) => resolve(state, element, d));
  if (spec.sorted) observed.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return {
    element,
    dot: spec.add ? resolve(state, element, spec.dot) : undefined,
    observed,
    payload: spec.add ? PAYLOADS[spec.payload] : undefined,
  };
}

/** The reference: the delta of one watchlist message, as sync-state's `watchlistDelta` builds it. */
function deltaOf(m: Message): OrSet {
  const delta = orSetEmpty();
  for (const [replica, counter] of m.observed) ccAddInto(delta.context, replica, counter);
  if (m.dot !== undefined) {
    const [replica, counter] = m.dot;
    const dot: OrSetDot =
      m.payload === undefined ? { replica, counter } : { replica, counter, payload: m.payload };
    delta.entries.set(m.element, [dot]);
    delta.index.set(replica, new Map([[counter, m.element]]));
    ccAddInto(delta.context, replica, counter);
  }
  return delta;
}

/** Everything a state holds, in iteration order (Maps and Sets alike). */
function layout(set: OrSet): unknown {
  return {
    entries: [...set.entries].map(([e, dots]) => [e, dots.map((d) => ({ ...d }))]),
    index: [...set.index].map(([r, counters]) => [r, [...counters]]),
    vv: [...set.context.vv],
    cloud: [...set.context.cloud].map(([r, counters]) => [r, [...counters]]),
  };
}

type Outcome = { readonly changes: OrSetChange[] } | { readonly error: string };

function run(apply: () => OrSetChange[]): Outcome {
  try {
    return { changes: apply() };
  } catch (error) {
    if (!(error instanceof DoubleSpentDotError)) throw error;
    return { error: `${error.name}: ${error.message} ${JSON.stringify(error.elements)} ${error.path}` };
  }
}

/** Would the direct path run (no fallback)? The conditions `orSetApplyDotInto` documents. */
function direct(state: OrSet, m: Message): boolean {
  const all = m.dot === undefined ? m.observed : [...m.observed, m.dot];
  if (m.observed.length > 32 || all.some(([, c]) => c === 1)) return false;
  for (let i = 1; i < all.length; i++) {
    if (all[i]![0] !== all[i - 1]![0] && all.slice(0, i - 1).some(([r]) => r === all[i]![0])) return false;
  }
  return m.observed.every(([r, c]) => {
    const holder = state.index.get(r)?.get(c);
    return holder === undefined || holder === m.element;
  });
}

describe("orSetApplyDotInto", () => {
  test("equals orSetJoinInto of the message's delta, step by step over random histories", () => {
    let directSteps = 0;
    let fallbackSteps = 0;
    let refused = 0;
    let changed = 0;
    fc.assert(
      fc.property(fc.array(messageSpec, { minLength: 1, maxLength: 30 }), (specs) => {
        const fast = orSetEmpty();
        const reference = orSetEmpty();
        for (const spec of specs) {
          const m = message(reference, spec);
          if (direct(reference, m)) directSteps++;
          else fallbackSteps++;
          const before = layout(reference);
          const a = run(() => orSetApplyDotInto(fast, m.element, m.dot, m.observed, m.payload));
          const b = run(() => orSetJoinInto(reference, deltaOf(m)));
          expect(a).toEqual(b);
          expect(layout(fast)).toEqual(layout(reference));
          if ("error" in b) {
            refused++;
            expect(layout(reference)).toEqual(before);
          } else if (b.changes.length > 0) changed++;
        }
      }),
      { numRuns: 2 * (fc.readConfigureGlobal().numRuns ?? 100) },
    );
    // Both paths, refusals and changes all occur, so the property is not vacuous.
    expect(directSteps).toBeGreaterThan(100);
    expect(fallbackSteps).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(0);
    expect(changed).toBeGreaterThan(100);
  });

  test("on a state built by the reference, one message gives the same state, changes and refusals", () => {
    fc.assert(
      fc.property(fc.array(messageSpec, { maxLength: 25 }), messageSpec, (history, last) => {
        const state = orSetEmpty();
        for (const spec of history) {
          try {
            orSetJoinInto(state, deltaOf(message(state, spec)));
          } catch (error) {
            if (!(error instanceof DoubleSpentDotError)) throw error;
          }
        }
        const m = message(state, last);
        const fast = orSetClone(state);
        const reference = orSetClone(state);
        expect(run(() => orSetApplyDotInto(fast, m.element, m.dot, m.observed, m.payload))).toEqual(
          run(() => orSetJoinInto(reference, deltaOf(m))),
        );
        expect(layout(fast)).toEqual(layout(reference));
      }),
    );
  });

  // Cases found by reasoning about the context's iteration order, where applying the dots in
  // the message's order would leave the same dots in another Map order than the join (which
  // adds the delta's vector first, then its cloud, replica by replica).
  const orderCases: [string, (state: OrSet) => void, Message, string[]][] = [
    [
      "a replica's dots split by another replica's, the Add's dot last",
      (state) => {
        ccAddInto(state.context, "s", 1);
        ccAddInto(state.context, "s", 3);
      },
      {
        element: "x",
        dot: ["s", 7],
        observed: [
          ["s", 2],
          ["t", 5],
        ],
        payload: "p",
      },
      ["s", "t"],
    ],
    [
      "a replica's dots split by another replica's, within observed",
      (state) => {
        ccAddInto(state.context, "s", 1);
        ccAddInto(state.context, "s", 3);
      },
      {
        element: "x",
        dot: undefined,
        observed: [
          ["s", 2],
          ["t", 5],
          ["s", 7],
        ],
        payload: undefined,
      },
      ["s", "t"],
    ],
    [
      "a counter-1 dot after a later one of its replica",
      (state) => {
        ccAddInto(state.context, "a", 2);
        ccAddInto(state.context, "b", 5);
      },
      {
        element: "x",
        dot: undefined,
        observed: [
          ["a", 4],
          ["a", 1],
        ],
        payload: undefined,
      },
      ["b", "a"],
    ],
    [
      "an Add minting counter 1 after observing a later dot of its replica",
      (state) => {
        ccAddInto(state.context, "a", 2);
        ccAddInto(state.context, "b", 5);
      },
      { element: "x", dot: ["a", 1], observed: [["a", 4]], payload: "p" },
      ["b", "a"],
    ],
  ];
  for (const [name, setup, m, cloudOrder] of orderCases) {
    test(`the context keeps the join's iteration order: ${name}`, () => {
      const state = orSetEmpty();
      setup(state);
      const fast = orSetClone(state);
      const reference = orSetClone(state);
      orSetApplyDotInto(fast, m.element, m.dot, m.observed, m.payload);
      orSetJoinInto(reference, deltaOf(m));
      expect(layout(fast)).toEqual(layout(reference));
      expect([...fast.context.cloud.keys()]).toEqual(cloudOrder);
    });
  }

  test("a dot held under another element is refused before anything changes", () => {
    const state = orSetEmpty();
    orSetApplyDotInto(state, "x", ["a", 2], [], "p");
    const before = layout(state);
    expect(() => orSetApplyDotInto(state, "y", ["a", 2], [["b", 3]], "q")).toThrow(DoubleSpentDotError);
    expect(layout(state)).toEqual(before);
  });
});
