/**
 * Last-writer-wins register (spec 3.1, 7.1; Shapiro et al. 2011 §3.2.1).
 *
 * The winner is the larger `(ts, node)` pair, compared as (number, then string by UTF-16 code
 * units), everywhere (DEVIATIONS 3: 3.1 forgot the tie-break that 5.4 and 7.1 use). The paper
 * assumes stamps are unique; an HLC plus a device id makes them so. Merge is a pure function of
 * its two inputs and returns one of them, so duplicated and reordered deliveries converge
 * (DEVIATIONS 6).
 */
import type { Hlc } from "./hlc.js";
import { hlcTimestamp, id } from "./messages/common.js";
import { type Check, json, object, ValidationError } from "./schema.js";

/** What orders writes: an HLC timestamp and the writing device's id as tie-break. */
export interface LwwStamp {
  readonly ts: Hlc;
  readonly node: string;
}

export interface LwwRegister<T> extends LwwStamp {
  readonly value: T;
}

/** Builds a register, rejecting a stamp no peer would accept (a bug in the caller, not bad input). */
export function lwwRegister<T>(value: T, ts: Hlc, node: string): LwwRegister<T> {
  requireStamp(ts, node);
  return { value, ts, node };
}

/**
 * Orders stamps by `ts`, then `node` by UTF-16 code units: the same on every device and in
 * every locale (`localeCompare` is neither), and what Rust's `String` ordering in 5.4 gives
 * for the ASCII ids the spec shows.
 */
export function lwwCompare(a: LwwStamp, b: LwwStamp): -1 | 0 | 1 {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/**
 * The winner of two writes: one of its inputs, never a copy.
 *
 * Equal stamps with different values only happen when one device reuses a timestamp, which a
 * correct HLC never does; rust-crdt rejects that case. We cannot refuse to merge network
 * state, so we still need an order that keeps merge commutative and associative: the larger
 * canonical JSON encoding of the value wins (`lwwValueCompare`). For JSON-equal values the
 * first argument is returned.
 */
export function lwwMerge<T>(a: LwwRegister<T>, b: LwwRegister<T>): LwwRegister<T> {
  const order = lwwCompare(a, b);
  if (order !== 0) return order > 0 ? a : b;
  if (a.value === b.value) return a;
  return lwwValueCompare(a.value, b.value) < 0 ? b : a;
}

/** Same stamp and JSON-equal value: the equality under which `lwwMerge` is a join. */
export function lwwEquals<T>(a: LwwRegister<T>, b: LwwRegister<T>): boolean {
  return a.ts === b.ts && a.node === b.node && lwwValueCompare(a.value, b.value) === 0;
}

/**
 * The total order that breaks `(ts, node)` ties: code-unit order of the values' canonical JSON
 * encodings (object keys sorted by code units, no whitespace, `undefined` members dropped as
 * `JSON.stringify` does). 0 exactly when the encodings are equal, so `{a:1,b:2}` ties
 * `{b:2,a:1}`. Values must be JSON values; anything else is seen only through that encoding.
 * A structural comparison runs first, so equal values (the common case: a duplicated
 * delivery) are told apart without building strings.
 */
export function lwwValueCompare(x: unknown, y: unknown): -1 | 0 | 1 {
  if (sameJson(x, y)) return 0;
  const cx = canonicalJson(x);
  const cy = canonicalJson(y);
  if (cx === cy) return 0;
  return cx < cy ? -1 : 1;
}

/**
 * Whether two JSON values are equal (structurally, object keys in any order): the yes/no
 * question `lwwValueCompare` answers with 0, without building strings. Exact for JSON values;
 * for anything else it may say "different" where the encodings agree.
 */
export function lwwValueEquals(x: unknown, y: unknown): boolean {
  return sameJson(x, y);
}

/** The JSON form: `{ "value": …, "ts": 1733500800000000, "node": "tv-1" }`. */
export interface LwwRegisterJson<T> {
  value: T;
  ts: number;
  node: string;
}

export function lwwToJSON<T>(register: LwwRegister<T>): LwwRegisterJson<T> {
  return { value: register.value, ts: register.ts, node: register.node };
}

const anyJson = json();

/**
 * A `Check` for a register's JSON form, to embed in larger messages (the error path then
 * names the field). `checkValue` validates the value (default: any JSON value).
 */
export function lwwRegisterCheck<T>(checkValue: Check<T>): Check<LwwRegister<T>> {
  const check = object({ value: checkValue, ts: hlcTimestamp, node: id });
  return (input) => {
    const { value, ts, node } = check(input);
    return { value, ts, node };
  };
}

const anyRegister = lwwRegisterCheck(anyJson);

/**
 * Parses a register from JSON that came from the network or storage; throws a
 * `ValidationError` naming the path and reason (`ts: expected an integer, got 1.5`). Use
 * `parseWith(lwwRegisterCheck(…), input)` from `schema.ts` for a `Result` instead, and build
 * that check once on hot paths.
 */
export function lwwFromJSON(input: unknown): LwwRegister<unknown>;
export function lwwFromJSON<T>(input: unknown, checkValue: Check<T>): LwwRegister<T>;
export function lwwFromJSON(input: unknown, checkValue?: Check<unknown>): LwwRegister<unknown> {
  return (checkValue === undefined ? anyRegister : lwwRegisterCheck(checkValue))(input);
}

/** Throws for a stamp that every peer's `fromJSON` would reject. */
export function requireStamp(ts: Hlc, node: string): void {
  if (!Number.isSafeInteger(ts) || ts < 0)
    throw new RangeError(`ts: expected an HLC timestamp (a non-negative safe integer), got ${ts}`);
  try {
    id(node);
  } catch (error) {
    if (error instanceof ValidationError) throw new TypeError(`node: ${error.reason}`);
    throw error;
  }
}

/** Structural equality that implies equal canonical encodings (never the converse claim). */
function sameJson(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  if (Array.isArray(x)) {
    if (!Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  if (Array.isArray(y)) return false;
  const xs = x as Record<string, unknown>;
  const ys = y as Record<string, unknown>;
  const keys = Object.keys(xs);
  if (keys.length !== Object.keys(ys).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(ys, key) || !sameJson(xs[key], ys[key])) return false;
  }
  return true;
}

function canonicalJson(value: unknown): string {
  return encode(value) ?? "null";
}

/** `undefined` where `JSON.stringify` would drop the member (undefined, functions, symbols). */
function encode(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += `${i === 0 ? "" : ","}${encode(value[i]) ?? "null"}`;
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const member = encode(record[key]);
    if (member === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${member}`;
    first = false;
  }
  return `${out}}`;
}
