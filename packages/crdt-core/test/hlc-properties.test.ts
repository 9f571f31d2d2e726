// Single-clock properties of the HLC: hlc.md §6 P1–P12, P14 (one step) and P20.
// Generators follow hlc.md §6: counters biased to 0/1/998/999, walls near each other so ties
// between l, l.m and pt are common, remotes behind and ahead, a physical clock that jumps.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ClockDriftError,
  HLC_DEFAULT_MAX_DRIFT_MS,
  HLC_MAX,
  HLC_MAX_WALL_MS,
  type Hlc,
  hlcCompare,
  hlcDecode,
  hlcEncode,
  hlcLagMs,
  hlcParse,
  hlcReceive,
  hlcTick,
  hlcToString,
  hlcWallMs,
  isHlc,
} from "../src/hlc.js";
import { HybridLogicalClock } from "../src/hybrid-logical-clock.js";

// ---------------------------------------------------------------------------------------------
// Oracles

/** hlc.md §4.3 closed forms, computed in BigInt so they are exact even past HLC_MAX. */
const big = BigInt;
function maxBig(a: bigint, b: bigint): bigint {
  return b > a ? b : a; // Math.max does not take BigInt
}
const sendOracle = (ts: Hlc, pt: number): bigint => maxBig(big(ts) + 1n, big(pt) * 1000n);
const receiveOracle = (ts: Hlc, m: Hlc, pt: number): bigint =>
  maxBig(maxBig(big(ts), big(m)) + 1n, big(pt) * 1000n);

/** The paper's Figure 5 on (l, c) pairs with an unbounded counter (no encoding, no carry). */
type Pair = readonly [l: number, c: number];
function paperSend([l, c]: Pair, pt: number): Pair {
  const l2 = Math.max(l, pt);
  return [l2, l2 === l ? c + 1 : 0];
}
function paperReceive([l, c]: Pair, [lm, cm]: Pair, pt: number): Pair {
  const l2 = Math.max(l, lm, pt);
  if (l2 === l && l2 === lm) return [l2, Math.max(c, cm) + 1];
  if (l2 === l) return [l2, c + 1];
  if (l2 === lm) return [l2, cm + 1];
  return [l2, 0];
}
const toPair = (ts: Hlc): Pair => {
  const { wallMs, counter } = hlcDecode(ts);
  return [wallMs, counter];
};

/** The receive result, or the drift error (anything else propagates and fails the test). */
function tryReceive(last: Hlc, remote: Hlc, pt: number, maxDriftMs?: number): Hlc | ClockDriftError {
  try {
    return hlcReceive(last, remote, pt, { maxDriftMs });
  } catch (error) {
    if (error instanceof ClockDriftError) return error;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

const BASE_MS = 1_733_500_800_000; // the spec's example instant
const counterArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 998, 999) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 999 }) },
);
const baseWallArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: BASE_MS - 1e9, max: BASE_MS + 1e9 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 200_000 }) },
);
/** Offsets from a shared base: mostly ties or neighbours, sometimes across the drift bound. */
const offsetArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -2, max: 2 }) },
  { weight: 2, arbitrary: fc.integer({ min: -2_000, max: 2_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -70_000, max: 70_000 }) },
);
const maxDriftArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 1_000) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 120_000 }) },
);

interface Step {
  readonly last: Hlc;
  readonly remote: Hlc;
  readonly pt: number;
  readonly maxDriftMs: number | undefined;
}
/** One receive (or tick: `remote` unused) with l, l.m and pt clustered around one base. */
const stepArb: fc.Arbitrary<Step> = fc
  .record({
    base: baseWallArb,
    dl: offsetArb,
    c: counterArb,
    dm: offsetArb,
    cm: counterArb,
    dp: offsetArb,
    maxDriftMs: maxDriftArb,
  })
  .map(({ base, dl, c, dm, cm, dp, maxDriftMs }) => ({
    last: hlcEncode(Math.max(0, base + dl), c),
    remote: hlcEncode(Math.max(0, base + dm), cm),
    pt: Math.max(0, base + dp),
    maxDriftMs,
  }));

/** A physical clock that stands still, creeps, steps ±5 s and jumps ±1 h (hlc.md §6). */
const ptStepArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 4, arbitrary: fc.integer({ min: -5_000, max: 5_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-3_600_000, 3_600_000) },
);

type Op =
  | { readonly kind: "tick"; readonly dt: number }
  | { readonly kind: "receive"; readonly dt: number; readonly remoteAheadMs: number; readonly cm: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("tick" as const), dt: ptStepArb }),
  fc.record({
    kind: fc.constant("receive" as const),
    dt: ptStepArb,
    remoteAheadMs: offsetArb,
    cm: counterArb,
  }),
);
/** A run: initial state, initial physical time, operations; bursts of ticks exercise carries. */
const runArb = fc.record({
  l0: baseWallArb,
  c0: counterArb,
  pt0Offset: offsetArb,
  ops: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: opArb.map((op) => [op]) },
      // A burst in one millisecond: 1–1200 ticks, enough to carry past counter 999.
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: 1, max: 1_200 })
          .map((n) => Array.from({ length: n }, (): Op => ({ kind: "tick", dt: 0 }))),
      },
    ),
    { maxLength: 40 },
  ),
});

/** Any timestamp, biased to millisecond edges and both ends of the range. */
const tsArb: fc.Arbitrary<Hlc> = fc.oneof(
  fc.maxSafeNat(),
  fc.tuple(fc.integer({ min: 0, max: HLC_MAX_WALL_MS - 1 }), counterArb).map(([l, c]) => l * 1000 + c),
  fc.integer({ min: 0, max: 3_000 }),
  fc.integer({ min: 0, max: 3_000 }).map((d) => HLC_MAX - d),
);

// ---------------------------------------------------------------------------------------------

describe("tick (P1, P3, P4, P6, P9, P10)", () => {
  it("is strictly greater than last, never behind pt, resets on a newer pt, else counts", () => {
    fc.assert(
      fc.property(stepArb, ({ last, pt }) => {
        const ts = hlcTick(last, pt);
        const l = hlcWallMs(last);
        expect(ts).toBeGreaterThan(last); // P1
        expect(hlcWallMs(ts)).toBeGreaterThanOrEqual(pt); // P3
        if (pt > l)
          expect(ts).toBe(pt * 1000); // P4
        else expect(ts).toBe(last + 1); // P6 (counter 999 → (l + 1, 0))
        const { counter } = hlcDecode(ts);
        expect(counter).toBeLessThanOrEqual(999);
      }),
    );
  });

  it("(l, 999) ticked at pt <= l gives (l + 1, 0) (P10)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: HLC_MAX_WALL_MS - 1 }), fc.nat(), (l, back) => {
        const pt = Math.max(0, l - (back % 10_000));
        expect(toPair(hlcTick(hlcEncode(l, 999), pt))).toEqual([l + 1, 0]);
      }),
    );
  });
});

describe("receive (P2, P3, P4, P5 per step, P14 per step)", () => {
  it("accepted: above last and remote, never behind pt; rejected: only for drift", () => {
    fc.assert(
      fc.property(stepArb, ({ last, remote, pt, maxDriftMs }) => {
        const out = tryReceive(last, remote, pt, maxDriftMs);
        const aheadMs = hlcWallMs(remote) - pt;
        const bound = maxDriftMs ?? HLC_DEFAULT_MAX_DRIFT_MS;
        if (out instanceof ClockDriftError) {
          expect(aheadMs).toBeGreaterThan(bound);
          return;
        }
        expect(aheadMs).toBeLessThanOrEqual(bound);
        expect(out).toBeGreaterThan(last); // P2
        expect(out).toBeGreaterThan(remote);
        expect(hlcWallMs(out)).toBeGreaterThanOrEqual(pt); // P3
        if (pt > hlcWallMs(last) && pt > hlcWallMs(remote)) expect(out).toBe(pt * 1000); // P4
      }),
    );
  });

  it("l' = max(l, l.m, pt) unless the counter overflowed, and then l' = that + 1 with counter 0", () => {
    fc.assert(
      fc.property(stepArb, ({ last, remote, pt }) => {
        const [l, c] = toPair(last);
        const [lm, cm] = toPair(remote);
        const top = Math.max(l, lm, pt);
        // Decided from the inputs alone: the paper's c' would be 1000 exactly when the branch
        // that wins adds one to a 999.
        const overflowReceive = (l === top && c === 999) || (lm === top && cm === 999);
        const received = toPair(hlcReceive(last, remote, pt, { maxDriftMs: HLC_MAX }));
        if (overflowReceive) expect(received).toEqual([top + 1, 0]);
        else expect(received[0]).toBe(top);
        expect(received[1]).toBeLessThanOrEqual(999);

        const overflowTick = l >= pt && c === 999;
        const ticked = toPair(hlcTick(last, pt));
        if (overflowTick) expect(ticked).toEqual([Math.max(l, pt) + 1, 0]);
        else expect(ticked[0]).toBe(Math.max(l, pt));
      }),
    );
  });

  it("stays within the drift bound when every input is (P14, one step)", () => {
    fc.assert(
      fc.property(stepArb, fc.integer({ min: 0, max: 5_000 }), ({ last, remote, pt }, eps) => {
        fc.pre(hlcLagMs(last, pt) <= eps);
        const out = tryReceive(last, remote, pt, eps);
        if (out instanceof ClockDriftError) return;
        const [l, c] = toPair(last);
        const [lm, cm] = toPair(remote);
        const top = Math.max(l, lm, pt);
        const carried = (l === top && c === 999) || (lm === top && cm === 999) ? 1 : 0;
        const lag = hlcLagMs(out, pt);
        expect(lag).toBeGreaterThanOrEqual(0);
        expect(lag).toBeLessThanOrEqual(eps + carried);
        const ticked = hlcLagMs(hlcTick(last, pt), pt);
        expect(ticked).toBeGreaterThanOrEqual(0);
        expect(ticked).toBeLessThanOrEqual(eps + (l >= pt && c === 999 ? 1 : 0));
      }),
    );
  });
});

describe("paper equivalence (P7)", () => {
  it("four-branch receive and tick equal the closed forms of hlc.md §4.3 on all inputs", () => {
    fc.assert(
      fc.property(stepArb, ({ last, remote, pt }) => {
        expect(big(hlcTick(last, pt))).toBe(sendOracle(last, pt));
        expect(big(hlcReceive(last, remote, pt, { maxDriftMs: HLC_MAX }))).toBe(
          receiveOracle(last, remote, pt),
        );
      }),
    );
  });

  it("receive(s, m, pt) = tick(max(s, m), pt)", () => {
    fc.assert(
      fc.property(stepArb, ({ last, remote, pt }) => {
        expect(hlcReceive(last, remote, pt, { maxDriftMs: HLC_MAX })).toBe(
          hlcTick(Math.max(last, remote), pt),
        );
      }),
    );
  });

  it("agrees with Figure 5 on unbounded (l, c) pairs whenever no counter reaches 1000", () => {
    fc.assert(
      fc.property(stepArb, ({ last, remote, pt }) => {
        const expectedSend = paperSend(toPair(last), pt);
        if (expectedSend[1] <= 999) expect(toPair(hlcTick(last, pt))).toEqual(expectedSend);
        const expectedReceive = paperReceive(toPair(last), toPair(remote), pt);
        if (expectedReceive[1] <= 999)
          expect(toPair(hlcReceive(last, remote, pt, { maxDriftMs: HLC_MAX }))).toEqual(expectedReceive);
      }),
    );
  });

  it("agrees with the closed forms across the whole range, including RangeError past HLC_MAX (P11)", () => {
    const ptArb = fc.oneof(
      fc.maxSafeNat(),
      fc.integer({ min: 0, max: 3_000 }).map((d) => HLC_MAX_WALL_MS - d),
    );
    fc.assert(
      fc.property(tsArb, tsArb, ptArb, (last, remote, pt) => {
        const send = sendOracle(last, pt);
        if (send > big(HLC_MAX)) expect(() => hlcTick(last, pt)).toThrow(RangeError);
        else expect(big(hlcTick(last, pt))).toBe(send);
        const receive = receiveOracle(last, remote, pt);
        const call = () => hlcReceive(last, remote, pt, { maxDriftMs: HLC_MAX });
        if (receive > big(HLC_MAX)) expect(call).toThrow(RangeError);
        else expect(big(call())).toBe(receive);
      }),
    );
  });
});

describe("drift rejection (P8)", () => {
  it("is exact at the boundary, carries its numbers, and is pure", () => {
    fc.assert(
      fc.property(
        stepArb,
        fc.integer({ min: -3, max: 3 }),
        maxDriftArb,
        ({ last, pt, remote }, k, maxDriftMs) => {
          const bound = maxDriftMs ?? HLC_DEFAULT_MAX_DRIFT_MS;
          fc.pre(pt + bound + k >= 0);
          const probe = hlcEncode(pt + bound + k, hlcDecode(remote).counter);
          const first = tryReceive(last, probe, pt, maxDriftMs);
          const again = tryReceive(last, probe, pt, maxDriftMs);
          if (k > 0) {
            expect(first).toBeInstanceOf(ClockDriftError);
            expect(first).toMatchObject({
              remote: probe,
              physicalMs: pt,
              aheadMs: bound + k,
              maxDriftMs: bound,
            });
            expect(again).toEqual(first);
          } else {
            expect(isHlc(first)).toBe(true);
            expect(again).toBe(first);
          }
          // A stateful clock is left exactly as it was.
          const clock = new HybridLogicalClock({ now: () => pt, last, maxDriftMs: bound });
          if (k > 0) {
            expect(() => clock.receive(probe)).toThrow(ClockDriftError);
            expect(clock.peek()).toBe(last);
          } else {
            expect(clock.receive(probe)).toBe(first);
          }
        },
      ),
    );
  });
});

describe("runs of events (P1, P5, P9, P10)", () => {
  it("strictly increase; l tracks the largest reading known plus carries; jumps never throw", () => {
    fc.assert(
      fc.property(runArb, ({ l0, c0, pt0Offset, ops }) => {
        let last = hlcEncode(l0, c0);
        let pt = Math.max(0, l0 + pt0Offset);
        let largestKnown = l0; // max of the initial wall, every pt read, every accepted remote wall
        let carries = 0;
        for (const op of ops.flat()) {
          pt = Math.max(0, pt + op.dt);
          const [l, c] = toPair(last);
          let next: Hlc;
          if (op.kind === "tick") {
            next = hlcTick(last, pt); // P9: never throws, whatever pt did
            largestKnown = Math.max(largestKnown, pt);
            if (l >= pt && c === 999) carries++;
          } else {
            const remote = hlcEncode(Math.max(0, pt + op.remoteAheadMs), op.cm);
            const out = tryReceive(last, remote, pt);
            // A rejected message leaves the clock as it was: that reading was never used.
            if (out instanceof ClockDriftError) continue;
            next = out;
            largestKnown = Math.max(largestKnown, pt);
            const [lm, cm] = toPair(remote);
            const top = Math.max(l, lm, pt);
            if ((l === top && c === 999) || (lm === top && cm === 999)) carries++;
            largestKnown = Math.max(largestKnown, lm);
          }
          // Plain checks in this hot loop (bursts run thousands of steps); expect.fail on a breach.
          const [l2, c2] = toPair(next);
          if (!(next > last)) expect.fail(`P1: ${next} after ${last}`);
          if (c === 999 && l2 === l) expect.fail(`P10: (${l}, 999) was followed by (${l2}, ${c2})`);
          // P5: with carries each adds at most one ms; without, l is exactly a known reading.
          if (l2 < largestKnown || l2 > largestKnown + carries) {
            expect.fail(`P5: wall ${l2}, largest reading ${largestKnown}, carries ${carries}`);
          }
          last = next;
        }
      }),
    );
  });
});

describe("purity and validation (P11, P12)", () => {
  it("gives equal outputs for equal inputs and does not touch frozen options or batches", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 5 }), (steps) => {
        for (const { last, remote, pt, maxDriftMs } of steps) {
          const options = Object.freeze({ maxDriftMs });
          const a = tryReceive(last, remote, pt, options.maxDriftMs);
          const b = (() => {
            try {
              return hlcReceive(last, remote, pt, options);
            } catch (error) {
              return error;
            }
          })();
          expect(b).toEqual(a);
          expect(hlcTick(last, pt)).toBe(hlcTick(last, pt));
        }
        const first = steps[0]!;
        const batch = Object.freeze(steps.map((s) => s.remote));
        const clock = new HybridLogicalClock({ now: () => first.pt, last: first.last, maxDriftMs: HLC_MAX });
        expect(clock.receiveAll(batch)).toBe(
          batch.reduce((s, m) => hlcReceive(s, m, first.pt, { maxDriftMs: HLC_MAX }), first.last),
        );
      }),
    );
  });

  it("rejects every malformed number with a RangeError naming the argument", () => {
    const badArb = fc.oneof(
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, -(2 ** 53)),
      fc.integer({ min: -1e9, max: -1 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 60n }).map(Number),
      fc.oneof(fc.string(), fc.constant(null), fc.constant(undefined), fc.boolean(), fc.bigInt()),
    ) as fc.Arbitrary<number>;
    fc.assert(
      fc.property(badArb, stepArb, (bad, { last, remote, pt }) => {
        const cases: [() => unknown, string][] = [
          [() => hlcTick(bad, pt), "hlcTick: last "],
          [() => hlcTick(last, bad), "hlcTick: physicalMs "],
          [() => hlcReceive(bad, remote, pt), "hlcReceive: last "],
          [() => hlcReceive(last, bad, pt), "hlcReceive: remote "],
          [() => hlcReceive(last, remote, bad), "hlcReceive: physicalMs "],
          [() => hlcDecode(bad), "hlcDecode: ts "],
          [() => hlcToString(bad), "hlcToString: ts "],
        ];
        if (bad !== undefined)
          cases.push([() => hlcReceive(last, remote, pt, { maxDriftMs: bad }), "hlcReceive: maxDriftMs "]);
        for (const [call, prefix] of cases) {
          expect(call).toThrow(RangeError);
          expect(call).toThrow(prefix);
        }
      }),
    );
  });
});

describe("encoding (P20)", () => {
  it("encode/decode round-trip and encode is strictly increasing in (l, c)", () => {
    const lcArb = fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: HLC_MAX_WALL_MS - 1 })),
      counterArb,
    );
    fc.assert(
      fc.property(lcArb, lcArb, ([l1, c1], [l2, c2]) => {
        const a = hlcEncode(l1, c1);
        const b = hlcEncode(l2, c2);
        expect(hlcDecode(a)).toEqual({ wallMs: l1, counter: c1 });
        const lexicographic = l1 !== l2 ? Math.sign(l1 - l2) : Math.sign(c1 - c2);
        expect(Math.sign(a - b)).toBe(lexicographic);
        expect(hlcCompare(a, b)).toBe(lexicographic);
      }),
    );
  });

  it("decode/encode, JSON and the padded string round-trip and preserve order", () => {
    fc.assert(
      fc.property(tsArb, tsArb, (a, b) => {
        const { wallMs, counter } = hlcDecode(a);
        expect(hlcEncode(wallMs, counter)).toBe(a);
        expect(JSON.parse(JSON.stringify(a))).toBe(a);
        const sa = hlcToString(a);
        const sb = hlcToString(b);
        expect(sa).toHaveLength(16);
        expect(hlcParse(sa)).toBe(a);
        expect(sa < sb).toBe(a < b);
        expect(sa === sb).toBe(a === b);
      }),
    );
  });
});
