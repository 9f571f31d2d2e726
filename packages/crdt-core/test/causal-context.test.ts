import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ccAddInto,
  ccAddRangeInto,
  ccEmpty,
  ccEquals,
  ccFromJSON,
  ccHas,
  ccJoin,
  ccNextDot,
  ccRanges,
  ccSize,
  ccToJSON,
} from "../src/causal-context.js";
import { ValidationError } from "../src/schema.js";
import { checkJoinLaws } from "../src/testing/join-laws.js";

const dotArb = fc.tuple(fc.constantFrom("a", "b", "c"), fc.integer({ min: 1, max: 12 }));
const contextArb = fc.array(dotArb, { maxLength: 30 }).map((dots) => {
  const cc = ccEmpty();
  for (const [replica, counter] of dots) ccAddInto(cc, replica, counter);
  return cc;
});

describe("causal context", () => {
  test("a context holding (b,2) does not contain (b,1): no gap-filling compaction", () => {
    const cc = ccEmpty();
    ccAddInto(cc, "b", 2);
    expect(ccHas(cc, "b", 2)).toBe(true);
    expect(ccHas(cc, "b", 1)).toBe(false);
    const joined = ccJoin(ccEmpty(), cc);
    expect(ccHas(joined, "b", 1)).toBe(false);
    expect(ccToJSON(joined)).toEqual({ vv: {}, cloud: { b: [2] } });
  });

  test("cloud dots move into the vector only when contiguous", () => {
    const cc = ccEmpty();
    ccAddInto(cc, "b", 3);
    ccAddInto(cc, "b", 2);
    expect(ccToJSON(cc)).toEqual({ vv: {}, cloud: { b: [2, 3] } });
    ccAddInto(cc, "b", 1);
    expect(ccToJSON(cc)).toEqual({ vv: { b: 3 }, cloud: {} });
  });

  test("ranges add in O(1) when contiguous and keep gaps otherwise", () => {
    const cc = ccEmpty();
    ccAddRangeInto(cc, "r", 5, 7);
    expect(ccHas(cc, "r", 4)).toBe(false);
    ccAddRangeInto(cc, "r", 1, 4);
    expect(ccToJSON(cc)).toEqual({ vv: { r: 7 }, cloud: {} });
    expect([...ccRanges(cc)]).toEqual([["r", [[1, 7]]]]);
  });

  test("membership is exactly the set of dots added, however they were added", () => {
    fc.assert(
      fc.property(fc.array(dotArb, { maxLength: 40 }), (dots) => {
        const cc = ccEmpty();
        for (const [replica, counter] of dots) ccAddInto(cc, replica, counter);
        const model = new Set(dots.map(([r, c]) => `${r}:${c}`));
        for (const replica of ["a", "b", "c"]) {
          for (let counter = 1; counter <= 13; counter++) {
            expect(ccHas(cc, replica, counter)).toBe(model.has(`${replica}:${counter}`));
          }
        }
        expect(ccSize(cc)).toBe(model.size);
        // compacted: no cloud dot is covered by or contiguous with the vector
        for (const [replica, counters] of cc.cloud) {
          const base = cc.vv.get(replica) ?? 0;
          for (const counter of counters) expect(counter).toBeGreaterThan(base + 1);
        }
      }),
    );
  });

  test("join is a join-semilattice (commutative, associative, idempotent)", () => {
    checkJoinLaws(contextArb, ccJoin, ccEquals);
  });

  test("ranges describe the context exactly", () => {
    fc.assert(
      fc.property(contextArb, (cc) => {
        const rebuilt = ccEmpty();
        for (const [replica, ranges] of ccRanges(cc))
          for (const [from, to] of ranges) ccAddRangeInto(rebuilt, replica, from, to);
        expect(ccEquals(rebuilt, cc)).toBe(true);
      }),
    );
  });

  test("the next dot is never one already seen", () => {
    fc.assert(
      fc.property(contextArb, fc.constantFrom("a", "b", "c"), (cc, replica) => {
        const [r, counter] = ccNextDot(cc, replica);
        expect(r).toBe(replica);
        for (let c = counter; c < counter + 5; c++) expect(ccHas(cc, replica, c)).toBe(false);
      }),
    );
  });

  test("JSON round-trips exactly", () => {
    fc.assert(
      fc.property(contextArb, (cc) => {
        const json = ccToJSON(cc);
        expect(ccToJSON(ccFromJSON(JSON.parse(JSON.stringify(json))))).toEqual(json);
      }),
    );
  });

  test("fromJSON names the path and the reason", () => {
    const bad = (input: unknown) => {
      try {
        ccFromJSON(input);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).message;
      }
      throw new Error("expected a ValidationError");
    };
    expect(bad({ vv: { "tv-1": -1 }, cloud: {} })).toBe("vv.tv-1: expected a positive integer, got -1");
    expect(bad({ vv: { "tv-1": 1.5 } })).toBe("vv.tv-1: expected a positive integer, got 1.5");
    expect(bad({ vv: {}, cloud: { phone: [3, "x"] } })).toBe(
      "cloud.phone[1]: expected a positive integer, got a string",
    );
    expect(bad({ vv: [] })).toBe("vv: expected an object of replica → counter");
    expect(bad(null)).toBe("expected an object with vv and cloud");
  });
});
