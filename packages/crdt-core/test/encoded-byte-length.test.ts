/**
 * `encodedByteLength` has an ASCII fast path (one byte per unit); it must agree with
 * `TextEncoder` on mostly-ASCII text too, where one non-ASCII unit anywhere takes the slow path.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodedByteLength } from "../src/messages/index.js";

const encoder = new TextEncoder();

describe("encodedByteLength on mostly-ASCII text", () => {
  test("ASCII text, with at most a few other units anywhere, counts as TextEncoder does", () => {
    const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) });
    const other = fc.constantFrom(
      "\u0080",
      "\u07ff",
      "\u0800",
      "é",
      "€",
      "\uffff",
      "\uD800",
      "\uDFFF",
      "\u{1F4FA}",
    );
    fc.assert(
      fc.property(ascii, fc.array(fc.tuple(fc.nat(), other), { maxLength: 3 }), (text, inserts) => {
        let out = text;
        for (const [at, unit] of inserts) {
          const i = at % (out.length + 1);
          out = out.slice(0, i) + unit + out.slice(i);
        }
        expect(encodedByteLength(out)).toBe(encoder.encode(out).length);
      }),
    );
  });

  test("long ASCII text, and the boundary units", () => {
    const long = "x".repeat(40_000);
    expect(encodedByteLength(long)).toBe(40_000);
    expect(encodedByteLength(`${long}\u007f`)).toBe(40_001);
    expect(encodedByteLength(`${long}\u0080`)).toBe(40_002);
    expect(encodedByteLength(`\uD800${long}`)).toBe(40_003);
    expect(encodedByteLength("")).toBe(0);
  });
});
