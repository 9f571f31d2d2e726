/**
 * fast-check arbitraries for LWW registers and LWW-Maps. Alphabets are small on purpose: equal
 * keys, equal timestamps and equal stamps with different values (a device reusing a
 * timestamp) come up often, which is where a merge breaks its laws.
 */
import fc from "fast-check";
import type { LwwRegister } from "../lww.js";
import type { LwwMapEntry, MutableLwwMap } from "../lww-map.js";

/**
 * Device ids whose code-unit order differs from `localeCompare` ("Z" < "a" < "é") and from
 * code-point order (a surrogate pair sorts below U+FFFF).
 */
export const LWW_TEST_NODES: readonly string[] = ["Z", "a", "b", "tv", "é", "\u{1F4FA}", "\uFFFF"];

/** Map keys, including ones that break maps built on plain objects. */
export const LWW_TEST_KEYS: readonly string[] = ["a", "b", "volume", "__proto__", "constructor"];

/** Small JSON values, some structurally equal with different key order. */
export function lwwValueArbitrary(): fc.Arbitrary<unknown> {
  const small = fc.integer({ min: -2, max: 3 });
  return fc.oneof(
    small,
    fc.constantFrom("x", "y", ""),
    fc.boolean(),
    fc.constant(null),
    fc.array(small, { maxLength: 2 }),
    fc.dictionary(fc.constantFrom("p", "q"), small, { maxKeys: 2, noNullPrototype: true }),
  );
}

export interface LwwArbitraryOptions {
  /** Device ids to draw from (default `LWW_TEST_NODES`). */
  readonly nodes?: readonly string[];
  /** Largest timestamp (default 4, so ties are common); timestamps start at 0. */
  readonly maxTs?: number;
}

export function lwwStampArbitrary(
  options: LwwArbitraryOptions = {},
): fc.Arbitrary<{ readonly ts: number; readonly node: string }> {
  const { nodes = LWW_TEST_NODES, maxTs = 4 } = options;
  return fc.record({ ts: fc.integer({ min: 0, max: maxTs }), node: fc.constantFrom(...nodes) });
}

export function lwwRegisterArbitrary<T = unknown>(
  value: fc.Arbitrary<T> = lwwValueArbitrary() as fc.Arbitrary<T>,
  options: LwwArbitraryOptions = {},
): fc.Arbitrary<LwwRegister<T>> {
  return fc
    .tuple(value, lwwStampArbitrary(options))
    .map(([v, { ts, node }]): LwwRegister<T> => ({ value: v, ts, node }));
}

/** A live entry or a deletion marker, built as `lww-map.ts` builds them. */
export function lwwMapEntryArbitrary<T = unknown>(
  value: fc.Arbitrary<T> = lwwValueArbitrary() as fc.Arbitrary<T>,
  options: LwwArbitraryOptions = {},
): fc.Arbitrary<LwwMapEntry<T>> {
  // Boxed, because a live value may itself be `null` or `undefined`.
  const live = value.map((v) => ({ v }));
  const slot = fc.oneof({ arbitrary: live, weight: 4 }, { arbitrary: fc.constant(undefined), weight: 1 });
  return fc
    .tuple(slot, lwwStampArbitrary(options))
    .map(
      ([box, { ts, node }]): LwwMapEntry<T> =>
        box === undefined
          ? { value: undefined, ts, node, deleted: true }
          : { value: box.v, ts, node, deleted: false },
    );
}

export interface LwwMapArbitraryOptions extends LwwArbitraryOptions {
  /** Keys to draw from (default `LWW_TEST_KEYS`). */
  readonly keys?: readonly string[];
}

export function lwwMapArbitrary<T = unknown>(
  value: fc.Arbitrary<T> = lwwValueArbitrary() as fc.Arbitrary<T>,
  options: LwwMapArbitraryOptions = {},
): fc.Arbitrary<MutableLwwMap<T>> {
  const { keys = LWW_TEST_KEYS } = options;
  return fc
    .uniqueArray(fc.tuple(fc.constantFrom(...keys), lwwMapEntryArbitrary(value, options)), {
      selector: ([key]) => key,
      maxLength: keys.length,
    })
    .map((pairs): MutableLwwMap<T> => ({ entries: new Map(pairs) }));
}
