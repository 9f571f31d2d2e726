// Many clocks (hlc.md §6 P13, P14, P16–P19): 2–6 nodes with per-node skew that drifts and
// jumps, random delivery with duplicates and reordering, batches, and a poisoned clock.
// Causality is checked on the full happens-before relation (vector clocks), not just on edges.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClockDriftError, HLC_MAX, type Hlc, hlcEncode, hlcReceive, hlcWallMs } from "../src/hlc.js";
import { HybridLogicalClock } from "../src/hybrid-logical-clock.js";
import { lwwCompare } from "../src/lww.js";

const BASE_MS = 1_733_500_800_000;
const MAX_DRIFT_MS = 1_000;

// ---------------------------------------------------------------------------------------------
// The simulated network

type Action =
  | { readonly kind: "advance"; readonly dt: number }
  | { readonly kind: "skew"; readonly node: number; readonly delta: number }
  | { readonly kind: "local"; readonly node: number }
  | { readonly kind: "send"; readonly node: number }
  | { readonly kind: "deliver"; readonly pick: number; readonly node: number; readonly duplicate: boolean }
  | {
      readonly kind: "batch";
      readonly picks: readonly number[];
      readonly node: number;
      readonly duplicate: boolean;
    };

interface Scenario {
  readonly deviceIds: readonly string[];
  /** Initial offset of each node's physical clock from true time (ms). */
  readonly offsets: readonly number[];
  /** Offsets are clamped to this range after every skew action; poisoned nodes keep theirs. */
  readonly skewBound: number;
  /** Initial clock state per node (0 = fresh). */
  readonly lasts: readonly Hlc[];
  /** Nodes whose physical clock is far ahead (P17); never skewed back into range. */
  readonly poisoned: ReadonlySet<number>;
  readonly actions: readonly Action[];
}

interface SimEvent {
  readonly node: number;
  readonly deviceId: string;
  readonly ts: Hlc;
  /** Physical reading the event was stamped at. */
  readonly pt: number;
  /** The simulation's true time at the event. */
  readonly trueTime: number;
  /** Largest physical reading this node had used up to and including this event. */
  readonly maxPtUsed: number;
  /** Vector clock: vc[node] is this event's sequence number on its node. */
  readonly vc: readonly number[];
}

interface Message {
  readonly ts: Hlc;
  readonly vc: readonly number[];
  readonly from: number;
}

interface SimResult {
  readonly events: SimEvent[];
  readonly delivered: number;
  readonly rejected: number;
}

function simulate(s: Scenario): SimResult {
  const n = s.deviceIds.length;
  let trueTime = BASE_MS;
  const offsets = [...s.offsets];
  const physical = (i: number) => Math.max(0, trueTime + offsets[i]!);
  const clocks = s.deviceIds.map(
    (_, i) => new HybridLogicalClock({ now: () => physical(i), maxDriftMs: MAX_DRIFT_MS, last: s.lasts[i]! }),
  );
  const vcs = s.deviceIds.map(() => new Array<number>(n).fill(0));
  const maxPtUsed = s.deviceIds.map(() => 0);
  const inFlight: Message[] = [];
  const events: SimEvent[] = [];
  let delivered = 0;
  let rejected = 0;

  const record = (i: number, ts: Hlc, merged: readonly (readonly number[])[]): SimEvent => {
    const vc = vcs[i]!;
    for (const other of merged) for (let k = 0; k < n; k++) vc[k] = Math.max(vc[k]!, other[k]!);
    vc[i]!++;
    maxPtUsed[i] = Math.max(maxPtUsed[i]!, physical(i));
    const event = {
      node: i,
      deviceId: s.deviceIds[i]!,
      ts,
      pt: physical(i),
      trueTime,
      maxPtUsed: maxPtUsed[i]!,
      vc: [...vc],
    };
    events.push(event);
    return event;
  };

  for (const action of s.actions) {
    switch (action.kind) {
      case "advance":
        trueTime += action.dt;
        break;
      case "skew": {
        const i = action.node % n;
        if (s.poisoned.has(i)) break;
        offsets[i] = Math.max(-s.skewBound, Math.min(s.skewBound, offsets[i]! + action.delta));
        break;
      }
      case "local":
        record(action.node % n, clocks[action.node % n]!.tick(), []);
        break;
      case "send": {
        const i = action.node % n;
        const event = record(i, clocks[i]!.tick(), []);
        inFlight.push({ ts: event.ts, vc: event.vc, from: i });
        break;
      }
      case "deliver": {
        if (inFlight.length === 0) break;
        const k = action.pick % inFlight.length;
        const message = inFlight[k]!;
        if (!action.duplicate) inFlight.splice(k, 1); // reordering: any message, not the oldest
        const i = action.node % n;
        const clock = clocks[i]!;
        const before = clock.peek();
        const shouldReject = hlcWallMs(message.ts) - physical(i) > MAX_DRIFT_MS;
        try {
          const ts = clock.receive(message.ts);
          expect(shouldReject).toBe(false);
          record(i, ts, [message.vc]);
          delivered++;
        } catch (error) {
          if (!(error instanceof ClockDriftError)) throw error;
          expect(shouldReject).toBe(true); // P8, in the network
          expect(clock.peek()).toBe(before);
          rejected++;
        }
        break;
      }
      case "batch": {
        if (inFlight.length === 0) break;
        const batch = [...new Set(action.picks.map((p) => p % inFlight.length))].map((k) => inFlight[k]!);
        if (!action.duplicate) for (const m of batch) inFlight.splice(inFlight.indexOf(m), 1);
        const i = action.node % n;
        const clock = clocks[i]!;
        const before = clock.peek();
        const pt = physical(i);
        const remotes = Object.freeze(batch.map((m) => m.ts));
        const anyTooFarAhead = remotes.some((ts) => hlcWallMs(ts) - pt > MAX_DRIFT_MS);
        try {
          const ts = clock.receiveAll(remotes);
          expect(anyTooFarAhead).toBe(false);
          // Same as receiving one by one at the same physical time.
          const folded = remotes.reduce(
            (last, m) => hlcReceive(last, m, pt, { maxDriftMs: MAX_DRIFT_MS }),
            before,
          );
          expect(ts).toBe(folded);
          record(
            i,
            ts,
            batch.map((m) => m.vc),
          );
          delivered += batch.length;
        } catch (error) {
          if (!(error instanceof ClockDriftError)) throw error;
          expect(anyTooFarAhead).toBe(true);
          expect(clock.peek()).toBe(before); // P18: all or nothing
          rejected += batch.length;
        }
        break;
      }
    }
  }
  return { events, delivered, rejected };
}

// ---------------------------------------------------------------------------------------------
// Checks over a run

/** e happened before f (e ≠ f): f has seen e's position on e's node. */
const happenedBefore = (e: SimEvent, f: SimEvent) => e !== f && f.vc[e.node]! >= e.vc[e.node]!;

/** Reference total order of DEVIATIONS 3, written without `<` on strings. */
function referenceCompare(a: SimEvent | Stamp, b: SimEvent | Stamp): number {
  if (a.ts !== b.ts) return Math.sign(a.ts - b.ts);
  const x = a.deviceId;
  const y = b.deviceId;
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x.charCodeAt(i) - y.charCodeAt(i);
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(x.length - y.length);
}

interface Stamp {
  readonly ts: Hlc;
  readonly deviceId: string;
}
/** The project's one `(ts, device id)` order (DEVIATIONS 3), as LWW uses it. */
const compare = (a: Stamp, b: Stamp) =>
  lwwCompare({ ts: a.ts, node: a.deviceId }, { ts: b.ts, node: b.deviceId });

/** P13 (Theorem 1) on the transitive closure, and P19's order agreeing with it. */
function checkCausality(events: readonly SimEvent[]): void {
  for (const e of events) {
    for (const f of events) {
      if (happenedBefore(e, f) && !(e.ts < f.ts && compare(e, f) < 0)) {
        expect.fail(`causality broken: ${JSON.stringify(e)} happened before ${JSON.stringify(f)}`);
      }
    }
  }
}

/** P16: with distinct device ids, no two events share (ts, deviceId). */
function checkUniqueness(events: readonly SimEvent[]): void {
  const keys = new Set(events.map((e) => JSON.stringify([e.ts, e.deviceId])));
  expect(keys.size).toBe(events.length);
}

/** P19: the comparator is a strict total order on distinct stamps and matches the reference. */
function checkTotalOrder(events: readonly SimEvent[]): void {
  const sorted = [...events].sort(compare);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    expect(compare(a, a)).toBe(0);
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      // Sorted by `compare`, every later element must be strictly greater (transitivity + totality).
      if (compare(a, b) !== -1 || compare(b, a) !== 1 || referenceCompare(a, b) !== -1) {
        expect.fail(`not a total order at ${JSON.stringify(a)} / ${JSON.stringify(b)}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Device ids where code-unit order differs from locale and code-point order. */
const deviceIdArb = fc.oneof(
  fc.constantFrom("B", "a", "A", "b", "é", "e", "f", "\u{1F600}", "\uFFFF", "tv-1", "tv-10", "tv-2"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 3 }),
);
const counterArb = fc.oneof(fc.constantFrom(0, 1, 998, 999), fc.integer({ min: 0, max: 999 }));

function actionArb(maxSkewStep: number): fc.Arbitrary<Action> {
  const node = fc.nat({ max: 5 });
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("advance" as const),
        dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 600 })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("skew" as const),
        node,
        delta: fc.integer({ min: -maxSkewStep, max: maxSkewStep }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("local" as const), node }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("send" as const), node }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("deliver" as const),
        pick: fc.nat(),
        node,
        duplicate: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("batch" as const),
        picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        node,
        duplicate: fc.boolean(),
      }),
    },
  );
}

interface ScenarioOptions {
  /** Offsets stay within ±skewBound. */
  readonly skewBound: number;
  /** Start from non-zero clock states with counters near 999 (carries possible). */
  readonly warmStart: boolean;
  readonly poison: boolean;
}

function scenarioArb(o: ScenarioOptions): fc.Arbitrary<Scenario> {
  return fc.integer({ min: 2, max: 6 }).chain((n) =>
    fc
      .record({
        deviceIds: fc.uniqueArray(deviceIdArb, { minLength: n, maxLength: n }),
        offsets: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: -o.skewBound, max: o.skewBound })), {
          minLength: n,
          maxLength: n,
        }),
        lasts: o.warmStart
          ? fc.array(
              fc
                .tuple(fc.integer({ min: -o.skewBound, max: o.skewBound }), counterArb)
                .map(([d, c]) => hlcEncode(BASE_MS + d, c)),
              { minLength: n, maxLength: n },
            )
          : fc.constant(new Array<Hlc>(n).fill(0)),
        // Poisoned node 0: more than maxDriftMs ahead of every honest clock.
        poisonAheadMs: fc.integer({ min: 1, max: 3 * MAX_DRIFT_MS }),
        actions: fc.array(actionArb(Math.max(1, o.skewBound)), { minLength: 20, maxLength: 150 }),
      })
      .map(({ deviceIds, offsets, lasts, poisonAheadMs, actions }) => {
        const poisoned = new Set<number>(o.poison ? [0] : []);
        const start = o.poison ? [o.skewBound + MAX_DRIFT_MS + poisonAheadMs, ...offsets.slice(1)] : offsets;
        return { deviceIds, offsets: start, skewBound: o.skewBound, lasts, poisoned, actions };
      }),
  );
}

// ---------------------------------------------------------------------------------------------

describe("many clocks", () => {
  it("keep causality, uniqueness and one total order under skew, jumps, duplicates and reordering (P13, P16, P18, P19)", () => {
    let rejections = 0;
    fc.assert(
      fc.property(
        scenarioArb({ skewBound: 2 * MAX_DRIFT_MS, warmStart: true, poison: false }),
        (scenario) => {
          const { events, rejected } = simulate(scenario);
          rejections += rejected;
          checkCausality(events);
          checkUniqueness(events);
          checkTotalOrder(events);
          for (const e of events) expect(e.ts).toBeLessThanOrEqual(HLC_MAX);
        },
      ),
    );
    // The skew range is wide enough that the drift path is exercised, not just the happy path.
    expect(rejections).toBeGreaterThan(0);
  });

  it("stay within ε of physical time when every clock is within ε of every other (P14)", () => {
    fc.assert(
      fc.property(
        scenarioArb({ skewBound: Math.floor(MAX_DRIFT_MS / 2), warmStart: false, poison: false }),
        (scenario) => {
          const { events, rejected } = simulate(scenario);
          // Fresh clocks and fewer than 1000 events: no carries, so Corollary 1 holds exactly,
          // and no honest message is ever rejected.
          expect(rejected).toBe(0);
          for (const e of events) {
            const lag = hlcWallMs(e.ts) - e.pt;
            if (lag < 0 || lag > MAX_DRIFT_MS)
              expect.fail(`lag ${lag} out of [0, ε] at ${JSON.stringify(e)}`);
          }
          checkCausality(events);
        },
      ),
    );
  });

  it("contain a poisoned clock: no clock runs more than maxDriftMs past its own readings (P17)", () => {
    let rejections = 0;
    fc.assert(
      fc.property(
        scenarioArb({ skewBound: Math.floor(MAX_DRIFT_MS / 2), warmStart: false, poison: true }),
        (scenario) => {
          const { events, rejected } = simulate(scenario);
          rejections += rejected;
          for (const e of events) {
            if (hlcWallMs(e.ts) > e.maxPtUsed + MAX_DRIFT_MS) {
              expect.fail(`clock dragged past its bound: ${JSON.stringify(e)}`);
            }
            // Honest clocks never pass the fastest honest physical clock by more than maxDriftMs,
            // however far ahead the poisoned one runs.
            if (!scenario.poisoned.has(e.node)) {
              expect(hlcWallMs(e.ts)).toBeLessThanOrEqual(e.trueTime + scenario.skewBound + MAX_DRIFT_MS);
            }
          }
          checkCausality(events);
          checkUniqueness(events);
        },
      ),
    );
    expect(rejections).toBeGreaterThan(0);
  });
});

describe("the (ts, deviceId) order (P19)", () => {
  const stampArb = fc.record({
    ts: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.maxSafeNat()),
    deviceId: fc.oneof(deviceIdArb, fc.string({ unit: "binary", maxLength: 3 })),
  });

  it("breaks ties by UTF-16 code units, not locale or code points", () => {
    const at = (deviceId: string) => ({ ts: 6, deviceId });
    expect(compare({ ts: 5, deviceId: "z" }, at("a"))).toBe(-1);
    expect(compare(at("B"), at("a"))).toBe(-1); // 0x42 < 0x61; localeCompare says otherwise
    expect(compare(at("é"), at("f"))).toBe(1);
    // U+1F600 is 0xD83D 0xDE00 in UTF-16, below U+FFFF (code-point order would say above).
    expect(compare(at("\u{1F600}"), at("\uFFFF"))).toBe(-1);
    expect(compare(at("tv-10"), at("tv-2"))).toBe(-1);
  });

  it("is reflexive, antisymmetric, transitive and total, by code units", () => {
    fc.assert(
      fc.property(stampArb, stampArb, stampArb, (a, b, c) => {
        expect(compare(a, a)).toBe(0);
        expect(compare(a, b)).toBe(referenceCompare(a, b));
        expect(compare(b, a) + compare(a, b)).toBe(0); // antisymmetric (no -0 from negation)
        expect(compare(a, b) === 0).toBe(a.ts === b.ts && a.deviceId === b.deviceId);
        if (compare(a, b) <= 0 && compare(b, c) <= 0) expect(compare(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
