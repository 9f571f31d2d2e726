import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type LwwRegister,
  lwwCompare,
  lwwEquals,
  lwwFromJSON,
  lwwMerge,
  lwwRegister,
  lwwToJSON,
  lwwValueCompare,
  lwwValueEquals,
} from "../src/lww.js";
import { integer, object, parseWith, string, ValidationError } from "../src/schema.js";
import { checkJoinLaws } from "../src/testing/join-laws.js";
import { lwwRegisterArbitrary, lwwValueArbitrary } from "../src/testing/lww-arbitraries.js";

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/** Independent statement of DEVIATIONS 3: (ts, then node by UTF-16 code units). */
function stampLess(a: { ts: number; node: string }, b: { ts: number; node: string }): boolean {
  if (a.ts !== b.ts) return a.ts < b.ts;
  const n = Math.min(a.node.length, b.node.length);
  for (let i = 0; i < n; i++) {
    const d = a.node.charCodeAt(i) - b.node.charCodeAt(i);
    if (d !== 0) return d < 0;
  }
  return a.node.length < b.node.length;
}

describe("spec examples", () => {
  it("7.1: TV 100s @ t=1000 and Phone 150s @ t=1001 converge to 150s @ 1001 on both", () => {
    const tv = lwwRegister(100, 1000, "tv-samsung-living-room");
    const phone = lwwRegister(150, 1001, "phone-iphone");
    const onTv = lwwMerge(tv, phone);
    const onPhone = lwwMerge(phone, tv);
    expect(onTv).toBe(phone);
    expect(onPhone).toBe(phone);
    expect(onTv).toEqual({ value: 150, ts: 1001, node: "phone-iphone" });
  });

  it("5.4: on equal timestamps the lexicographically greater device_id wins, in both orders", () => {
    const tv = lwwRegister(3245, 1733500800000000, "tv-samsung-living-room");
    const phone = lwwRegister(3300, 1733500800000000, "phone-iphone");
    expect(lwwMerge(tv, phone)).toBe(tv);
    expect(lwwMerge(phone, tv)).toBe(tv);
  });

  it("3.1 (DEVIATIONS 3): the node breaks timestamp ties even where 3.1's code would keep the local value", () => {
    const local = lwwRegister("a", 5, "alpha");
    const remote = lwwRegister("b", 5, "beta");
    // 3.1 only replaces on a strictly larger timestamp; we apply the tie-break everywhere.
    expect(lwwMerge(local, remote)).toBe(remote);
  });
});

describe("lwwCompare", () => {
  it("orders by ts first, then node", () => {
    expect(lwwCompare({ ts: 1, node: "z" }, { ts: 2, node: "a" })).toBe(-1);
    expect(lwwCompare({ ts: 2, node: "a" }, { ts: 1, node: "z" })).toBe(1);
    expect(lwwCompare({ ts: 2, node: "a" }, { ts: 2, node: "b" })).toBe(-1);
    expect(lwwCompare({ ts: 2, node: "b" }, { ts: 2, node: "b" })).toBe(0);
  });

  it("compares nodes by UTF-16 code units, not locale or code points", () => {
    // localeCompare puts "a" before "Z" and "é" before "f"; code units do the opposite.
    expect(lwwCompare({ ts: 0, node: "Z" }, { ts: 0, node: "a" })).toBe(-1);
    expect(lwwCompare({ ts: 0, node: "f" }, { ts: 0, node: "é" })).toBe(-1);
    // U+1F4FA is the surrogate pair D83D DCFA: below U+FFFF by code unit, above by code point.
    expect(lwwCompare({ ts: 0, node: "\u{1F4FA}" }, { ts: 0, node: "\uFFFF" })).toBe(-1);
    expect(lwwCompare({ ts: 0, node: "tv" }, { ts: 0, node: "tv-2" })).toBe(-1);
  });

  it("agrees with an independent code-unit comparison and is antisymmetric", () => {
    const stamp = fc.record({ ts: fc.integer({ min: 0, max: 3 }), node: fc.string({ maxLength: 4 }) });
    fc.assert(
      fc.property(stamp, stamp, (a, b) => {
        const expected = stampLess(a, b) ? -1 : stampLess(b, a) ? 1 : 0;
        return lwwCompare(a, b) === expected && lwwCompare(b, a) === -expected;
      }),
    );
  });
});

describe("lwwMerge", () => {
  it("is commutative, associative and idempotent (up to lwwEquals)", () => {
    checkJoinLaws(lwwRegisterArbitrary(), lwwMerge, lwwEquals);
  });

  it("returns one of its inputs, the one with the larger (ts, node)", () => {
    fc.assert(
      fc.property(lwwRegisterArbitrary(), lwwRegisterArbitrary(), (a, b) => {
        const winner = lwwMerge(a, b);
        if (winner !== a && winner !== b) return false;
        if (stampLess(a, b)) return winner === b;
        if (stampLess(b, a)) return winner === a;
        return true;
      }),
    );
  });

  it("picks the same object in both orders unless the two are lwwEquals", () => {
    fc.assert(
      fc.property(lwwRegisterArbitrary(), lwwRegisterArbitrary(), (a, b) => {
        fc.pre(!lwwEquals(a, b));
        return lwwMerge(a, b) === lwwMerge(b, a);
      }),
    );
  });

  it("breaks an equal stamp by canonical JSON of the value, whatever the key order", () => {
    const x = lwwRegister("x", 7, "tv");
    const y = lwwRegister("y", 7, "tv");
    expect(lwwMerge(x, y)).toBe(y);
    expect(lwwMerge(y, x)).toBe(y);

    // Canonical forms: {"a":1,"b":2} < {"a":1,"b":3}; insertion order must not matter.
    const ab = lwwRegister({ a: 1, b: 2 }, 7, "tv");
    const ba = lwwRegister({ b: 2, a: 1 }, 7, "tv");
    const b3 = lwwRegister({ b: 3, a: 1 }, 7, "tv");
    expect(lwwMerge(ab, b3)).toBe(b3);
    expect(lwwMerge(b3, ba)).toBe(b3);
    expect(lwwEquals(ab, ba)).toBe(true);
    expect(lwwMerge(ab, ba)).toBe(ab);
    expect(lwwMerge(ba, ab)).toBe(ba);

    // Keys are sorted before encoding: {"a":2,"b":1} > {"a":1,"b":1}, although the second
    // object, written b-first, would encode larger unsorted.
    const a2 = lwwRegister({ a: 2, b: 1 }, 7, "tv");
    const a1 = lwwRegister({ b: 1, a: 1 }, 7, "tv");
    expect(lwwMerge(a2, a1)).toBe(a2);
    expect(lwwMerge(a1, a2)).toBe(a2);
  });

  it("never mutates its (deep-frozen) inputs", () => {
    fc.assert(
      fc.property(lwwRegisterArbitrary(), lwwRegisterArbitrary(), (a, b) => {
        const before = JSON.stringify([a, b]);
        lwwMerge(deepFreeze(a), deepFreeze(b));
        return JSON.stringify([a, b]) === before;
      }),
    );
  });
});

describe("lwwValueCompare", () => {
  it("is a total order whose ties are exactly equal canonical JSON", () => {
    const v = lwwValueArbitrary();
    fc.assert(
      fc.property(v, v, v, (x, y, z) => {
        const xy = lwwValueCompare(x, y);
        if (lwwValueCompare(y, x) !== -xy) return false;
        if ((xy === 0) !== lwwValueEquals(x, y)) return false;
        if (xy <= 0 && lwwValueCompare(y, z) <= 0 && lwwValueCompare(x, z) > 0) return false;
        // Equal values must compare alike against everything else.
        if (xy === 0 && lwwValueCompare(x, z) !== lwwValueCompare(y, z)) return false;
        return true;
      }),
    );
  });

  it("drops undefined members as JSON does", () => {
    expect(lwwValueCompare({ a: 1, b: undefined }, { a: 1 })).toBe(0);
    expect(lwwValueCompare([1, 2], [1, 3])).toBe(-1);
  });
});

describe("lwwRegister", () => {
  it("rejects a stamp no peer would accept, naming the argument", () => {
    expect(() => lwwRegister(1, -1, "tv")).toThrow(RangeError);
    expect(() => lwwRegister(1, 1.5, "tv")).toThrow(/^ts: /);
    expect(() => lwwRegister(1, Number.NaN, "tv")).toThrow(RangeError);
    expect(() => lwwRegister(1, 2 ** 53, "tv")).toThrow(RangeError);
    expect(() => lwwRegister(1, 0, "")).toThrow(TypeError);
    expect(() => lwwRegister(1, 0, "my tv")).toThrow(/^node: /);
    expect(lwwRegister(1, 0, "tv")).toEqual({ value: 1, ts: 0, node: "tv" });
  });
});

describe("JSON", () => {
  it("round-trips every register exactly through JSON text", () => {
    fc.assert(
      fc.property(lwwRegisterArbitrary(), (r) => {
        const json = lwwToJSON(r);
        const back = lwwFromJSON(JSON.parse(JSON.stringify(json)));
        return lwwEquals(back, r) && JSON.stringify(lwwToJSON(back)) === JSON.stringify(json);
      }),
    );
  });

  it("emits exactly value, ts and node", () => {
    const r: LwwRegister<number> & { extra?: number } = { value: 1, ts: 2, node: "tv", extra: 3 };
    expect(lwwToJSON(r)).toStrictEqual({ value: 1, ts: 2, node: "tv" });
  });

  it("validates the value with the given check and drops unknown fields", () => {
    const progress = object({ seconds: integer() });
    const r = lwwFromJSON({ value: { seconds: 3245 }, ts: 1733500800000000, node: "tv-1", x: 1 }, progress);
    expect(r).toStrictEqual({ value: { seconds: 3245 }, ts: 1733500800000000, node: "tv-1" });
  });

  it.each([
    [null, "", /^expected an object, got null$/],
    [[], "", /^expected an object, got an array$/],
    [{ ts: 1, node: "tv" }, "value", /^is required$/],
    [{ value: 1, node: "tv" }, "ts", /^is required$/],
    [{ value: 1, ts: 1.5, node: "tv" }, "ts", /integer.*1\.5$/],
    [{ value: 1, ts: -1, node: "tv" }, "ts", /integer.*-1$/],
    [{ value: 1, ts: 2 ** 53, node: "tv" }, "ts", /integer/],
    [{ value: 1, ts: "1", node: "tv" }, "ts", /integer.*a string$/],
    [{ value: 1, ts: 1, node: "" }, "node", /non-empty/],
    [{ value: 1, ts: 1, node: "my tv" }, "node", /without whitespace/],
    [{ value: 1, ts: 1, node: 7 }, "node", /^expected a string, got a number$/],
  ])("rejects %j at %j (%s)", (input, path, reason) => {
    const error = thrown(() => lwwFromJSON(input));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).path).toBe(path);
    expect((error as ValidationError).reason).toMatch(reason);
  });

  it("names the path inside the value", () => {
    const error = thrown(() =>
      lwwFromJSON({ value: { name: 3 }, ts: 1, node: "tv" }, object({ name: string() })),
    );
    expect((error as ValidationError).message).toBe("value.name: expected a string, got a number");
  });

  it("rejects a non-JSON value by default", () => {
    expect(parseWith(lwwFromJSON, { value: Number.NaN, ts: 1, node: "tv" })).toEqual({
      ok: false,
      error: { path: "value", reason: "expected a JSON value, got NaN" },
    });
  });
});
