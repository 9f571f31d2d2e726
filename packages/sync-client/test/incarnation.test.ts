import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newIncarnationId } from "../src/incarnation.js";

describe("newIncarnationId", () => {
  it("is the device id, ~, and 8 base-36 characters", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 8,
          maxLength: 8,
        }),
        (rs) => {
          let i = 0;
          expect(newIncarnationId("tv-1", () => rs[i++]!)).toMatch(/^tv-1~[0-9a-z]{8}$/);
        },
      ),
    );
  });

  it("refuses a random outside [0, 1)", () => {
    expect(() => newIncarnationId("tv", () => 1)).toThrow(RangeError);
  });
});
