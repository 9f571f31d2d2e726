// Unit tests and reference vectors for the HLC (spec 7.3, DEVIATIONS 1–2, hlc.md).
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ClockDriftError,
  HLC_DEFAULT_MAX_DRIFT_MS,
  HLC_MAX,
  HLC_MAX_WALL_MS,
  hlcCompare,
  hlcCounter,
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

const enc = hlcEncode;
const dec = hlcDecode;
const pair = (ts: number): [number, number] => {
  const { wallMs, counter } = dec(ts);
  return [wallMs, counter];
};

describe("encoding (DEVIATIONS 1)", () => {
  it("decodes the spec's example payload timestamp as 2024-12-06T16:00:00.000Z, counter 0", () => {
    expect(hlcDecode(1733500800000000)).toEqual({ wallMs: 1733500800000, counter: 0 });
    expect(new Date(hlcWallMs(1733500800000000)).toISOString()).toBe("2024-12-06T16:00:00.000Z");
  });

  it("matches hlc.md's worked values", () => {
    expect(hlcEncode(1733500800000, 0)).toBe(1733500800000000);
    expect(hlcEncode(1733500800000, 5)).toBe(1733500800000005);
    expect(hlcEncode(1733500800000, 999)).toBe(1733500800000999);
    expect(hlcDecode(1733500800000123)).toEqual({ wallMs: 1733500800000, counter: 123 });
    expect(hlcCounter(1733500800000123)).toBe(123);
    expect(hlcToString(40999)).toBe("0000000000040999");
    expect(hlcParse("0000000000040999")).toBe(40999);
  });

  it("ends exactly at Number.MAX_SAFE_INTEGER = (9007199254740, 991)", () => {
    expect(HLC_MAX).toBe(Number.MAX_SAFE_INTEGER);
    expect(HLC_MAX_WALL_MS).toBe(9007199254740);
    expect(hlcDecode(HLC_MAX)).toEqual({ wallMs: 9007199254740, counter: 991 });
    expect(hlcEncode(9007199254740, 991)).toBe(HLC_MAX);
    expect(new Date(HLC_MAX_WALL_MS).toISOString()).toBe("2255-06-05T23:47:34.740Z");
    expect(() => hlcEncode(9007199254740, 992)).toThrow(/hlcEncode: result .* exceeds HLC_MAX/);
    expect(() => hlcEncode(9007199254741, 0)).toThrow(RangeError);
    expect(hlcToString(HLC_MAX)).toBe("9007199254740991");
    expect(hlcParse("9007199254740991")).toBe(HLC_MAX);
  });

  it("hlcParse rejects anything but 16 digits within range", () => {
    const bad: unknown[] = [
      "",
      "123",
      "000000000004099", // 15
      "00000000000040999", // 17
      "-000000000040999",
      "+000000000040999",
      " 000000000040999",
      "000000000040999 ",
      "00000000000409a9",
      "0000000000040.99",
      "0x00000000000409",
      "9007199254740992", // 2^53
      "9007199254740993", // rounds to 2^53 as a Number
      "9999999999999999",
      "１２３４５６７８９０１２３４５６", // full-width digits
      40999,
      null,
      undefined,
    ];
    for (const text of bad) {
      expect(() => hlcParse(text as string), String(text)).toThrow(RangeError);
    }
    expect(() => hlcParse("9007199254740992")).toThrow(/exceeds HLC_MAX/);
    expect(() => hlcParse("12")).toThrow('hlcParse: text must be exactly 16 decimal digits, got "12"');
  });

  it("isHlc accepts exactly the non-negative safe integers", () => {
    for (const v of [0, 1, 1733500800000000, HLC_MAX]) expect(isHlc(v)).toBe(true);
    for (const v of [
      -1,
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      HLC_MAX + 1,
      "1",
      1n,
      null,
      undefined,
      {},
    ])
      expect(isHlc(v)).toBe(false);
  });

  it("compares by number", () => {
    expect(hlcCompare(1, 2)).toBe(-1);
    expect(hlcCompare(2, 1)).toBe(1);
    expect(hlcCompare(7, 7)).toBe(0);
    expect(hlcCompare(enc(10, 999), enc(11, 0))).toBe(-1);
  });
});

describe("tick: Figure 5 send rule", () => {
  // [state (l, c), pt, expected (l, c)]
  const rows: [[number, number], number, [number, number]][] = [
    [[0, 0], 0, [0, 1]],
    [[5, 0], 10, [10, 0]], // physical time ahead: reset counter
    [[10, 0], 10, [10, 1]], // same ms: count
    [[10, 7], 3, [10, 8]], // physical time behind: clock holds, counts
    [[10, 999], 10, [11, 0]], // P10 overflow carries, never (10, 0)
    [[10, 999], 3, [11, 0]],
    [[10, 999], 11, [11, 0]],
    [[10, 999], 12, [12, 0]],
    [[10, 998], 10, [10, 999]],
  ];
  it.each(rows)("(%j) at pt %d → %j", (state, pt, expected) => {
    expect(pair(hlcTick(enc(...state), pt))).toEqual(expected);
  });

  it("ticks at the top of the range until HLC_MAX, then throws instead of wrapping", () => {
    expect(hlcTick(HLC_MAX - 1, 0)).toBe(HLC_MAX);
    expect(() => hlcTick(HLC_MAX, 0)).toThrow(RangeError);
    expect(() => hlcTick(HLC_MAX, 0)).toThrow(/hlcTick: result .* exceeds HLC_MAX/);
    expect(() => hlcTick(0, HLC_MAX_WALL_MS + 1)).toThrow(/hlcTick: result/);
    expect(() => hlcTick(0, Number.MAX_SAFE_INTEGER)).toThrow(/hlcTick: result/);
    expect(hlcTick(0, HLC_MAX_WALL_MS)).toBe(HLC_MAX_WALL_MS * 1000);
  });

  it("never checks drift: a clock far ahead of physical time still ticks", () => {
    const farAhead = enc(10_000_000, 4);
    expect(pair(hlcTick(farAhead, 0))).toEqual([10_000_000, 5]);
  });
});

describe("receive: Figure 5 receive rule", () => {
  // [state, message, pt, expected] — each branch, the spec's wrong branch (hlc.md §1 D2, SD rows),
  // and carries.
  const rows: [string, [number, number], [number, number], number, [number, number]][] = [
    ["SD1 l' = l > l.m: c + 1, not max(c, c.m) + 1", [10, 3], [8, 9], 9, [10, 4]],
    ["SD2 l' = l = pt > l.m", [11, 0], [10, 31], 11, [11, 1]],
    ["SD3 l' = l > pt = l.m", [10, 3], [8, 9], 8, [10, 4]],
    ["l' = l = l.m: max(c, c.m) + 1", [10, 3], [10, 5], 9, [10, 6]],
    ["l' = l = l.m = pt", [10, 7], [10, 5], 10, [10, 8]],
    ["l' = l.m > l: c.m + 1 (not 0: calimero #2662)", [10, 3], [12, 7], 11, [12, 8]],
    ["l' = l.m = pt > l", [10, 3], [12, 7], 12, [12, 8]],
    ["l' = pt above both: 0", [10, 3], [12, 7], 13, [13, 0]],
    ["overflow l' = l = l.m", [10, 999], [10, 2], 10, [11, 0]],
    ["overflow l' = l = l.m, remote at 999", [10, 2], [10, 999], 10, [11, 0]],
    ["overflow l' = l", [10, 999], [9, 999], 5, [11, 0]],
    ["overflow l' = l.m", [10, 3], [12, 999], 12, [13, 0]],
    ["no overflow when pt wins", [10, 999], [12, 999], 13, [13, 0]],
    ["own message echoed back", [10, 4], [10, 4], 10, [10, 5]],
  ];
  it.each(rows)("%s", (_name, state, message, pt, expected) => {
    expect(pair(hlcReceive(enc(...state), enc(...message), pt))).toEqual(expected);
  });

  it("rejects a remote more than maxDriftMs ahead (strict >), with the numbers", () => {
    const pt = 1_000_000;
    const atBound = enc(pt + HLC_DEFAULT_MAX_DRIFT_MS, 7);
    expect(pair(hlcReceive(0, atBound, pt))).toEqual([pt + 60_000, 8]);
    const over = enc(pt + HLC_DEFAULT_MAX_DRIFT_MS + 1, 0);
    let caught: unknown;
    try {
      hlcReceive(0, over, pt);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ClockDriftError);
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toMatchObject({
      name: "ClockDriftError",
      remote: over,
      physicalMs: pt,
      aheadMs: 60_001,
      maxDriftMs: 60_000,
    });
    expect((caught as Error).message).toContain("60001 ms ahead");
  });

  it("honours a custom maxDriftMs, including 0", () => {
    expect(pair(hlcReceive(0, enc(100, 0), 100, { maxDriftMs: 0 }))).toEqual([100, 1]);
    expect(() => hlcReceive(0, enc(101, 0), 100, { maxDriftMs: 0 })).toThrow(ClockDriftError);
    expect(() => hlcReceive(0, enc(5_000, 0), 100, { maxDriftMs: 4_899 })).toThrow(ClockDriftError);
    expect(pair(hlcReceive(0, enc(5_000, 0), 100, { maxDriftMs: 4_900 }))).toEqual([5_000, 1]);
    expect(pair(hlcReceive(0, enc(5_000, 0), 100, { maxDriftMs: undefined }))).toEqual([5_000, 1]);
  });

  it("checks drift before anything else could fail, and only on the remote", () => {
    // A far-ahead local clock is not the remote's fault.
    expect(pair(hlcReceive(enc(10_000_000, 0), enc(5, 0), 0))).toEqual([10_000_000, 1]);
    // Drift is reported even when the result would also be out of range.
    expect(() => hlcReceive(HLC_MAX, HLC_MAX, 0)).toThrow(ClockDriftError);
    expect(() => hlcReceive(HLC_MAX, HLC_MAX, HLC_MAX_WALL_MS)).toThrow(/hlcReceive: result/);
  });
});

describe("bad arguments throw RangeError naming the argument", () => {
  const bad: [unknown, string][] = [
    [Number.NaN, "NaN"],
    [-1, "-1"],
    [1.5, "1.5"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
    [2 ** 53, "9007199254740992"],
    ["1733500800000000", '"1733500800000000"'],
    [1n, "1n"],
    [null, "null"],
    [undefined, "undefined"],
    [{}, "an object"],
    [true, "true"],
  ];
  const n = (v: unknown) => v as number;
  it.each(bad)("%s", (value, shown) => {
    const calls: [() => unknown, string][] = [
      [() => hlcTick(n(value), 0), "hlcTick: last"],
      [() => hlcTick(0, n(value)), "hlcTick: physicalMs"],
      [() => hlcReceive(n(value), 0, 0), "hlcReceive: last"],
      [() => hlcReceive(0, n(value), 0), "hlcReceive: remote"],
      [() => hlcReceive(0, 0, n(value)), "hlcReceive: physicalMs"],
      [() => hlcEncode(n(value), 0), "hlcEncode: wallMs"],
      [() => hlcDecode(n(value)), "hlcDecode: ts"],
      [() => hlcWallMs(n(value)), "hlcWallMs: ts"],
      [() => hlcToString(n(value)), "hlcToString: ts"],
      [() => hlcLagMs(n(value), 0), "hlcLagMs: ts"],
      [() => hlcLagMs(0, n(value)), "hlcLagMs: physicalMs"],
      [() => hlcCompare(n(value), 0), "hlcCompare: a"],
    ];
    if (value !== undefined) {
      // `undefined` means "use the default" for an optional field.
      calls.push([() => hlcReceive(0, 0, 0, { maxDriftMs: n(value) }), "hlcReceive: maxDriftMs"]);
    }
    for (const [call, prefix] of calls) {
      expect(call, prefix).toThrow(RangeError);
      expect(call, prefix).toThrow(`${prefix} must be a non-negative safe integer, got ${shown}`);
    }
  });

  it("counter outside 0..999", () => {
    for (const counter of [-1, 1000, 0.5, Number.NaN]) {
      expect(() => hlcEncode(0, counter)).toThrow(RangeError);
      expect(() => hlcEncode(0, counter)).toThrow(/hlcEncode: counter must be an integer from 0 to 999/);
    }
  });

  it("the exact message of the brief's example", () => {
    expect(() => hlcTick(0, Number.NaN)).toThrow(
      "hlcTick: physicalMs must be a non-negative safe integer, got NaN",
    );
  });
});

describe("HybridLogicalClock", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function manualClock(start: number) {
    let t = start;
    return {
      now: () => t,
      set(ms: number) {
        t = ms;
      },
    };
  }

  it("never reads Date.now itself", () => {
    vi.spyOn(Date, "now").mockImplementation(() => {
      throw new Error("Date.now must not be called");
    });
    const time = manualClock(1_000);
    const clock = new HybridLogicalClock({ now: time.now });
    clock.tick();
    clock.receive(enc(1_001, 3));
    clock.receiveAll([enc(999, 0), enc(1_002, 0)]);
    clock.lagMs();
    expect(pair(clock.peek())).toEqual([1_002, 1]);
  });

  it("ticks, receives and reports lag against the injected clock", () => {
    const time = manualClock(1_000);
    const clock = new HybridLogicalClock({ now: time.now });
    expect(clock.peek()).toBe(0);
    expect(clock.maxDriftMs).toBe(HLC_DEFAULT_MAX_DRIFT_MS);
    expect(pair(clock.tick())).toEqual([1_000, 0]);
    expect(pair(clock.tick())).toEqual([1_000, 1]);
    expect(pair(clock.receive(enc(1_500, 4)))).toEqual([1_500, 5]);
    expect(clock.lagMs()).toBe(500);
    time.set(400); // physical clock stepped back
    expect(pair(clock.tick())).toEqual([1_500, 6]);
    expect(clock.lagMs()).toBe(1_100);
    time.set(2_000);
    expect(clock.lagMs()).toBe(-500);
    expect(pair(clock.tick())).toEqual([2_000, 0]);
  });

  it("leaves state unchanged when receive rejects", () => {
    const time = manualClock(1_000);
    const clock = new HybridLogicalClock({ now: time.now, maxDriftMs: 100, last: enc(900, 42) });
    expect(() => clock.receive(enc(1_101, 0))).toThrow(ClockDriftError);
    expect(pair(clock.peek())).toEqual([900, 42]);
    expect(() => clock.receive(Number.NaN)).toThrow(RangeError);
    expect(pair(clock.peek())).toEqual([900, 42]);
    expect(pair(clock.receive(enc(1_100, 0)))).toEqual([1_100, 1]);
  });

  it("receiveAll is all-or-nothing (P18) and reads the physical clock once", () => {
    let reads = 0;
    const clock = new HybridLogicalClock({
      now: () => {
        reads++;
        return 1_000;
      },
      maxDriftMs: 100,
      last: enc(990, 0),
    });
    expect(() => clock.receiveAll([enc(1_050, 0), enc(1_101, 0), enc(1_060, 0)])).toThrow(ClockDriftError);
    expect(pair(clock.peek())).toEqual([990, 0]);
    expect(reads).toBe(1);
    expect(pair(clock.receiveAll([enc(1_050, 0), enc(1_020, 9), enc(1_050, 3)]))).toEqual([1_050, 4]);
    expect(pair(clock.peek())).toEqual([1_050, 4]);
    expect(reads).toBe(2);
    expect(clock.receiveAll([])).toBe(enc(1_050, 4));
  });

  it("rejects bad options and a bad physical reading", () => {
    const bad = (options: unknown) => () => new HybridLogicalClock(options as { now: () => number });
    expect(bad(undefined)).toThrow(TypeError);
    expect(bad({})).toThrow(/options.now must be a function/);
    expect(bad({ now: () => 0, maxDriftMs: -1 })).toThrow(/options.maxDriftMs must be a non-negative/);
    expect(bad({ now: () => 0, maxDriftMs: null })).toThrow(/options.maxDriftMs must be a non-negative/);
    expect(bad({ now: () => 0, last: 0.5 })).toThrow(/options.last must be a non-negative/);
    const clock = new HybridLogicalClock({ now: () => 1.5, last: 7 });
    expect(() => clock.tick()).toThrow(/now\(\) must be a non-negative safe integer, got 1.5/);
    expect(clock.peek()).toBe(7);
  });
});
