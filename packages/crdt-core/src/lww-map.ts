/**
 * LWW-Map: string keys to last-writer-wins registers (spec 7.1's "user preferences, profile
 * settings"), merged key by key with the rule of `lww.ts` (DEVIATIONS 3).
 *
 * A delete is a register too: a deletion marker with its own stamp, so a set older than the
 * delete cannot bring the key back, whatever order the two arrive in. The markers stay (one
 * per key ever deleted, bounded by the key space); dropping one safely needs causal
 * stability, which this layer does not know.
 *
 * Delta-state (Almeida et al. 2018): every mutator returns a delta that is itself an LWW-Map
 * holding only the key it touched; joining is idempotent, commutative and associative, so
 * duplicated and reordered deltas need no dedup table (DEVIATIONS 6).
 */
import type { Hlc } from "./hlc.js";
import { type LwwRegister, lwwValueCompare, lwwValueEquals, requireStamp } from "./lww.js";
import { hlcTimestamp, id } from "./messages/common.js";
import { boolean, type Check, json, object, record, setOwn, ValidationError } from "./schema.js";

export interface LwwMapLive<T> extends LwwRegister<T> {
  readonly deleted: false;
}

/** The register a delete writes: no value, only the stamp it must beat. */
export interface LwwMapDeletion extends LwwRegister<undefined> {
  readonly deleted: true;
}

export type LwwMapEntry<T> = LwwMapLive<T> | LwwMapDeletion;

/**
 * An LWW-Map as every pure function takes it. `entries` holds deletion markers too; read
 * visible values with `lwwMapGet` / `lwwMapEntries`. A `Map`, not an object, so keys such as
 * `__proto__` are plain keys.
 */
export interface LwwMap<T> {
  readonly entries: ReadonlyMap<string, LwwMapEntry<T>>;
}

/** An LWW-Map its holder may update in place with `lwwMapJoinInto`; pure functions return these. */
export interface MutableLwwMap<T> extends LwwMap<T> {
  readonly entries: Map<string, LwwMapEntry<T>>;
}

export interface LwwMapUpdate<T> {
  /** The input joined with `delta`: a new map, the input is untouched. */
  readonly state: MutableLwwMap<T>;
  /** Only the touched key: what to publish. */
  readonly delta: MutableLwwMap<T>;
}

export function lwwMapEmpty<T>(): MutableLwwMap<T> {
  return { entries: new Map() };
}

/** The delta of setting `key` (Almeida's δ-mutator): no state needed, nothing copied. */
export function lwwMapSetDelta<T>(key: string, value: T, ts: Hlc, node: string): MutableLwwMap<T> {
  requireKey(key);
  requireStamp(ts, node);
  // Both entry kinds are built with the same fields in the same order, so the join's hot
  // loop sees one object shape.
  const entry: LwwMapLive<T> = { value, ts, node, deleted: false };
  return { entries: new Map([[key, entry]]) };
}

/** The delta of deleting `key`, written even if the key is absent here: it must still beat older sets still in flight. */
export function lwwMapDeleteDelta<T>(key: string, ts: Hlc, node: string): MutableLwwMap<T> {
  requireKey(key);
  requireStamp(ts, node);
  const entry: LwwMapDeletion = { value: undefined, ts, node, deleted: true };
  return { entries: new Map([[key, entry]]) };
}

/**
 * Sets `key` at stamp `(ts, node)`. Pure: copies `map` (O(size)); the holder of a large map
 * should use `lwwMapSetDelta` + `lwwMapJoinInto` instead. A stamp older than the key's
 * current one loses, as any other delivery of it would, so `state` may equal `map`.
 */
export function lwwMapSet<T>(map: LwwMap<T>, key: string, value: T, ts: Hlc, node: string): LwwMapUpdate<T> {
  const delta = lwwMapSetDelta(key, value, ts, node);
  return { state: lwwMapJoin(map, delta), delta };
}

/** Deletes `key` at stamp `(ts, node)`; pure, like `lwwMapSet`. */
export function lwwMapDelete<T>(map: LwwMap<T>, key: string, ts: Hlc, node: string): LwwMapUpdate<T> {
  const delta = lwwMapDeleteDelta<T>(key, ts, node);
  return { state: lwwMapJoin(map, delta), delta };
}

/** The visible value: `undefined` for an absent or deleted key. */
export function lwwMapGet<T>(map: LwwMap<T>, key: string): T | undefined {
  const entry = map.entries.get(key);
  return entry === undefined || entry.deleted ? undefined : entry.value;
}

/** Live keys, sorted by UTF-16 code units (the same order on every device). */
export function lwwMapKeys<T>(map: LwwMap<T>): string[] {
  const keys: string[] = [];
  for (const [key, entry] of map.entries) if (!entry.deleted) keys.push(key);
  return keys.sort();
}

/** Live `[key, value]` pairs, sorted by key as `lwwMapKeys`. */
export function lwwMapEntries<T>(map: LwwMap<T>): [string, T][] {
  const out: [string, T][] = [];
  for (const [key, entry] of map.entries) if (!entry.deleted) out.push([key, entry.value]);
  return out.sort(byKey);
}

/**
 * THE join, in place: merges `delta` into `target` key by key and returns the keys whose
 * visible value changed (appeared, disappeared, or became a structurally different value),
 * for UI change lists. The holder's fast path: O(|delta|), no copy of `target`. Entries are
 * immutable and shared with `delta`, never copied. `lwwMapJoin` is this on a copy.
 */
export function lwwMapJoinInto<T>(target: MutableLwwMap<T>, delta: LwwMap<T>): string[] {
  const changed: string[] = [];
  for (const [key, incoming] of delta.entries) {
    if (lwwMapJoinEntryInto(target, key, incoming)) changed.push(key);
  }
  return changed;
}

/**
 * Internal (not re-exported by the package): joins ONE entry into `target`, in place, and says
 * whether `key`'s visible value changed. It is the body of `lwwMapJoinInto`'s loop, so the
 * map has one join; `applyMessageInto` calls it directly for a single-key message, without
 * building a one-entry delta `Map`. `valueEquals` decides "structurally different" between
 * two live values; a caller that knows the values' shape may pass a cheaper test, which must
 * agree with `lwwValueEquals` on those values.
 */
export function lwwMapJoinEntryInto<T>(
  target: MutableLwwMap<T>,
  key: string,
  incoming: LwwMapEntry<T>,
  valueEquals: (x: T, y: T) => boolean = lwwValueEquals,
): boolean {
  const entries = target.entries;
  const current = entries.get(key);
  if (current === undefined) {
    entries.set(key, incoming);
    return !incoming.deleted;
  }
  if (current === incoming || !wins(incoming, current)) return false;
  entries.set(key, incoming);
  if (current.deleted) return !incoming.deleted;
  return incoming.deleted || !valueEquals(current.value, incoming.value);
}

/**
 * Internal: true when a write stamped `(ts, node)` surely loses to `key`'s current entry (its
 * stamp is strictly older), so a caller can skip building the entry. `wins`' first two rules;
 * an equal stamp is left to the join.
 */
export function lwwMapStampLoses<T>(target: LwwMap<T>, key: string, ts: Hlc, node: string): boolean {
  const current = target.entries.get(key);
  return current !== undefined && (ts < current.ts || (ts === current.ts && node < current.node));
}

/**
 * The pure join: a new map, inputs untouched. Copies the larger input and joins the smaller
 * into it (the join is commutative), so joining a delta into a big state costs one copy.
 */
export function lwwMapJoin<T>(a: LwwMap<T>, b: LwwMap<T>): MutableLwwMap<T> {
  const [large, small] = a.entries.size >= b.entries.size ? [a, b] : [b, a];
  const out: MutableLwwMap<T> = { entries: new Map(large.entries) };
  lwwMapJoinInto(out, small);
  return out;
}

/** Same keys with equal entries (deletion markers included): the equality the join laws hold under. */
export function lwwMapEquals<T>(a: LwwMap<T>, b: LwwMap<T>): boolean {
  if (a.entries.size !== b.entries.size) return false;
  for (const [key, x] of a.entries) {
    const y = b.entries.get(key);
    if (y === undefined || x.ts !== y.ts || x.node !== y.node || x.deleted !== y.deleted) return false;
    if (x.value !== y.value && lwwValueCompare(x.value, y.value) !== 0) return false;
  }
  return true;
}

/** One key's JSON form: `{ "value": 40, "ts": …, "node": "tv-1" }` or `{ "deleted": true, "ts": …, "node": … }`. */
export type LwwMapEntryJson<T> =
  | { value: T; ts: number; node: string }
  | { deleted: true; ts: number; node: string };

export interface LwwMapJson<T> {
  entries: Record<string, LwwMapEntryJson<T>>;
}

/** The JSON form, deletion markers included, keys sorted so equal states encode alike. */
export function lwwMapToJSON<T>(map: LwwMap<T>): LwwMapJson<T> {
  const entries: Record<string, LwwMapEntryJson<T>> = {};
  for (const key of [...map.entries.keys()].sort()) {
    const entry = map.entries.get(key)!;
    setOwn(
      entries,
      key,
      entry.deleted
        ? { deleted: true, ts: entry.ts, node: entry.node }
        : { value: entry.value, ts: entry.ts, node: entry.node },
    );
  }
  return { entries };
}

export interface LwwMapCheckRules {
  /** Checks each key (default: any string). */
  readonly key?: Check<string>;
  readonly maxKeys?: number;
}

/** A `Check` for an LWW-Map's JSON form, to embed in larger messages; see `lwwMapFromJSON`. */
export function lwwMapCheck<T>(checkValue: Check<T>, rules: LwwMapCheckRules = {}): Check<MutableLwwMap<T>> {
  const check = object({ entries: record(entryCheck(checkValue), rules) });
  return (input) => {
    const parsed = check(input).entries;
    const entries = new Map<string, LwwMapEntry<T>>();
    for (const key of Object.keys(parsed)) entries.set(key, parsed[key]!);
    return { entries };
  };
}

const anyMap = lwwMapCheck(json());

/**
 * Parses an LWW-Map from JSON that came from the network or storage; throws a
 * `ValidationError` naming the path and reason (`entries.volume.ts: expected an integer, got
 * 1.5`). `checkValue` validates live values (default: any JSON value).
 */
export function lwwMapFromJSON(input: unknown): MutableLwwMap<unknown>;
export function lwwMapFromJSON<T>(input: unknown, checkValue: Check<T>): MutableLwwMap<T>;
export function lwwMapFromJSON(input: unknown, checkValue?: Check<unknown>): MutableLwwMap<unknown> {
  return (checkValue === undefined ? anyMap : lwwMapCheck(checkValue))(input);
}

function entryCheck<T>(checkValue: Check<T>): Check<LwwMapEntry<T>> {
  const check = object({ ts: hlcTimestamp, node: id }, { deleted: boolean, value: checkValue });
  return (input) => {
    const entry = check(input);
    if (entry.deleted === true) {
      if (entry.value !== undefined) throw new ValidationError("a deleted entry carries no value", ["value"]);
      return { value: undefined, ts: entry.ts, node: entry.node, deleted: true };
    }
    if (!("value" in entry)) throw new ValidationError("is required", ["value"]);
    return { value: entry.value as T, ts: entry.ts, node: entry.node, deleted: false };
  };
}

/**
 * Does `incoming` beat `current`? `lwwMerge`'s order, inlined for the hot loop: larger
 * `(ts, node)`; on an equal stamp (a device reused a timestamp) a deletion beats a value, and
 * between values the larger canonical JSON wins, so the join stays commutative.
 */
function wins<T>(incoming: LwwMapEntry<T>, current: LwwMapEntry<T>): boolean {
  if (incoming.ts !== current.ts) return incoming.ts > current.ts;
  if (incoming.node !== current.node) return incoming.node > current.node;
  if (incoming.deleted !== current.deleted) return incoming.deleted;
  return incoming.value !== current.value && lwwValueCompare(incoming.value, current.value) > 0;
}

function requireKey(key: string): void {
  if (typeof key !== "string") throw new TypeError(`key: expected a string, got ${typeof key}`);
}

function byKey(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
