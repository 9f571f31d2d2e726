import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../src/backoff.js";

describe("backoffDelayMs", () => {
  it("follows spec 6.2 without jitter: 1, 2, 4, 8, 16 s, then 30 s for ever", () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => backoffDelayMs(attempt));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(backoffDelayMs(10_000)).toBe(30_000);
    expect(backoffDelayMs(Number.MAX_SAFE_INTEGER)).toBe(30_000);
  });

  it("matches spec 10.3's `min(retry * 2, max)` recurrence for any base and cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (baseMs, extra) => {
          const maxMs = baseMs + extra;
          let retry = baseMs;
          for (let attempt = 0; attempt < 40; attempt++) {
            expect(backoffDelayMs(attempt, { baseMs, maxMs })).toBe(retry);
            retry = Math.min(retry * 2, maxMs);
          }
        },
      ),
    );
  });

  it("equal jitter stays within [d/2, d] and under the cap, and is pure given random", () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const d = backoffDelayMs(attempt);
          const jittered = backoffDelayMs(attempt, { random: () => r });
          expect(jittered).toBeGreaterThanOrEqual(d / 2);
          expect(jittered).toBeLessThanOrEqual(d);
          expect(jittered).toBeLessThanOrEqual(30_000);
          expect(backoffDelayMs(attempt, { random: () => r })).toBe(jittered);
        },
      ),
    );
    expect(backoffDelayMs(3, { random: () => 0 })).toBe(4000);
    expect(backoffDelayMs(3, { random: () => 0.5 })).toBe(6000);
  });

  it("a custom jitter sees the spec delay and is clamped to [0, maxMs]", () => {
    const seen: number[] = [];
    expect(
      backoffDelayMs(2, {
        jitter: (d) => {
          seen.push(d);
          return d * 0.1;
        },
      }),
    ).toBeCloseTo(400);
    expect(seen).toEqual([4000]);
    fc.assert(
      fc.property(fc.nat(60), fc.double({ noNaN: true }), (attempt, out) => {
        const delay = backoffDelayMs(attempt, { jitter: () => out });
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(30_000);
      }),
    );
  });

  it("misuse throws, naming the argument", () => {
    expect(() => backoffDelayMs(-1)).toThrow(/attempt/);
    expect(() => backoffDelayMs(1.5)).toThrow(RangeError);
    expect(() => backoffDelayMs(0, { baseMs: 0 })).toThrow(/baseMs/);
    expect(() => backoffDelayMs(0, { baseMs: 100, maxMs: 50 })).toThrow(/maxMs/);
    expect(() => backoffDelayMs(0, { random: () => 2 })).toThrow(/random/);
    expect(() => backoffDelayMs(0, { jitter: () => Number.NaN })).toThrow(/jitter/);
    expect(() => backoffDelayMs(0, { jitter: (d) => d, random: () => 0 })).toThrow(TypeError);
  });
});
