/**
 * A small validator combinator kit for JSON that came from the network or from storage.
 *
 * The core takes no runtime dependency (ARCHITECTURE.md), so instead of zod/valibot we keep
 * the dozen combinators we need here; `docs/decisions.md` says why. A `Check<T>` returns the
 * validated (and, for objects, unknown-key-stripped) value or throws a `ValidationError`;
 * the error's path is built while the throw unwinds, so the success path allocates no paths.
 * `parseWith` turns that into a `Result` at the boundary.
 */
import { invalid, ok, type Result } from "./result.js";

export type PathSegment = string | number;

/** Bad input: names the JSON path (`context.vv.tv-1`) and the reason. */
export class ValidationError extends Error {
  override readonly name: string = "ValidationError";
  readonly reason: string;
  /** Outermost first. */
  readonly segments: PathSegment[];

  constructor(reason: string, segments: PathSegment[] = []) {
    super(reason);
    this.reason = reason;
    this.segments = segments;
    this.refreshMessage();
  }

  get path(): string {
    return formatPath(this.segments);
  }

  /** Called by container checks as the error passes through them. */
  within(segment: PathSegment): this {
    this.segments.unshift(segment);
    this.refreshMessage();
    return this;
  }

  private refreshMessage(): void {
    const path = formatPath(this.segments);
    this.message = path === "" ? this.reason : `${path}: ${this.reason}`;
  }
}

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

export type Check<T> = (value: unknown) => T;
export type Checked<C> = C extends Check<infer T> ? T : never;

export function fail(reason: string): never {
  throw new ValidationError(reason);
}

/** Runs `check` under `segment`, so a failure inside names it. */
export function at<T>(segment: PathSegment, check: Check<T>, value: unknown): T {
  try {
    return check(value);
  } catch (error) {
    if (error instanceof ValidationError) throw error.within(segment);
    throw error;
  }
}

/** Like `at`, for a check nested several levels deep (`atPath(["cloud", replica, 3], …)`). */
export function atPath<T>(segments: readonly PathSegment[], check: Check<T>, value: unknown): T {
  try {
    return check(value);
  } catch (error) {
    if (error instanceof ValidationError) {
      for (let i = segments.length - 1; i >= 0; i--) error.within(segments[i]!);
    }
    throw error;
  }
}

export function parseWith<T>(check: Check<T>, input: unknown): Result<T> {
  try {
    return ok(check(input));
  } catch (error) {
    if (error instanceof ValidationError) return invalid(error.path, error.reason);
    throw error;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return `a ${typeof value}`;
}

export interface StringRules {
  readonly min?: number;
  readonly max?: number;
  /** Tested with `.test`; `patternName` says what it means in the error. */
  readonly pattern?: RegExp;
  readonly patternName?: string;
}

export function string(rules: StringRules = {}): Check<string> {
  const { min = 0, max = Number.POSITIVE_INFINITY, pattern, patternName } = rules;
  return (value) => {
    if (typeof value !== "string") fail(`expected a string, got ${describe(value)}`);
    if (value.length < min)
      fail(min === 1 ? "expected a non-empty string" : `expected at least ${min} characters`);
    if (value.length > max) fail(`expected at most ${max} characters, got ${value.length}`);
    if (pattern !== undefined && !pattern.test(value))
      fail(`expected ${patternName ?? `to match ${pattern}`}`);
    return value;
  };
}

export interface NumberRules {
  readonly min?: number;
  readonly max?: number;
}

/** A finite number within `[min, max]`. */
export function number(rules: NumberRules = {}): Check<number> {
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = rules;
  return (value) => {
    if (typeof value !== "number" || !Number.isFinite(value))
      fail(`expected a finite number, got ${describe(value)}`);
    if (value < min || value > max) fail(`expected a number from ${min} to ${max}, got ${value}`);
    return value;
  };
}

/** A safe integer within `[min, max]` (defaults: 0 to `Number.MAX_SAFE_INTEGER`). */
export function integer(rules: NumberRules = {}): Check<number> {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = rules;
  const expected =
    max === Number.MAX_SAFE_INTEGER && (min === 0 || min === 1)
      ? `expected a ${min === 0 ? "non-negative" : "positive"} integer`
      : `expected an integer from ${min} to ${max}`;
  return (value) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      fail(`${expected}, got ${typeof value === "number" ? value : describe(value)}`);
    }
    return value;
  };
}

export const boolean: Check<boolean> = (value) => {
  if (typeof value !== "boolean") fail(`expected a boolean, got ${describe(value)}`);
  return value;
};

export function oneOf<const T extends readonly (string | number)[]>(values: T): Check<T[number]> {
  const allowed = new Set<unknown>(values);
  const reason = `expected one of ${values.join(", ")}`;
  return (value) => {
    if (!allowed.has(value)) fail(reason);
    return value as T[number];
  };
}

export function literal<const T extends string | number | boolean>(expected: T): Check<T> {
  return (value) => {
    if (value !== expected) fail(`expected ${JSON.stringify(expected)}`);
    return expected;
  };
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value) => (value === null ? null : check(value));
}

export function array<T>(
  item: Check<T>,
  rules: { readonly min?: number; readonly max?: number } = {},
): Check<T[]> {
  const { min = 0, max = Number.POSITIVE_INFINITY } = rules;
  return (value) => {
    if (!Array.isArray(value)) fail(`expected an array, got ${describe(value)}`);
    if (value.length < min) fail(`expected at least ${min} items, got ${value.length}`);
    if (value.length > max) fail(`expected at most ${max} items, got ${value.length}`);
    const out = new Array<T>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = at(i, item, value[i]);
    return out;
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON object used as a dictionary: every key passes `key`, every value `item`. */
export function record<T>(
  item: Check<T>,
  rules: { readonly key?: Check<string>; readonly maxKeys?: number } = {},
): Check<Record<string, T>> {
  const { key, maxKeys = Number.POSITIVE_INFINITY } = rules;
  return (value) => {
    if (!isPlainObject(value)) fail(`expected an object, got ${describe(value)}`);
    const keys = Object.keys(value);
    if (keys.length > maxKeys) fail(`expected at most ${maxKeys} keys, got ${keys.length}`);
    const out: Record<string, T> = {};
    for (const k of keys) {
      if (key !== undefined) at(k, key, k);
      setOwn(out, k, at(k, item, value[k]));
    }
    return out;
  };
}

/** `out[key] = value` that stays an own data property even for `__proto__` (no prototype pollution). */
export function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

type Shape = Readonly<Record<string, Check<unknown>>>;
type Required<S extends Shape> = { -readonly [K in keyof S]: Checked<S[K]> };
type Optional<S extends Shape> = { -readonly [K in keyof S]?: Checked<S[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

/**
 * A JSON object with `required` and `optional` fields. Unknown fields are dropped, so a newer
 * peer's extra fields never reach state; an optional field that is absent (or `undefined`)
 * stays absent in the output.
 */
export function object<R extends Shape, O extends Shape = Record<never, never>>(
  required: R,
  optional?: O,
): Check<Flatten<Required<R> & Optional<O>>> {
  const requiredKeys = Object.keys(required);
  const optionalKeys = optional === undefined ? [] : Object.keys(optional);
  return (value) => {
    if (!isPlainObject(value)) fail(`expected an object, got ${describe(value)}`);
    const out: Record<string, unknown> = {};
    for (const key of requiredKeys) {
      const field = value[key];
      if (field === undefined) throw new ValidationError("is required", [key]);
      out[key] = at(key, required[key]!, field);
    }
    for (const key of optionalKeys) {
      const field = value[key];
      if (field !== undefined) out[key] = at(key, optional![key]!, field);
    }
    return out as Flatten<Required<R> & Optional<O>>;
  };
}

/**
 * A discriminated union keyed by `tag` (`{ "type": "Seek", "params": {...} }`): picks the
 * variant's check by the tag's value, so the error names the variant's own fields.
 */
export function taggedUnion<T>(tag: string, variants: Readonly<Record<string, Check<T>>>): Check<T> {
  const names = Object.keys(variants);
  const reason = `expected one of ${names.join(", ")}`;
  return (value) => {
    if (!isPlainObject(value)) fail(`expected an object, got ${describe(value)}`);
    const name = value[tag];
    const variant = typeof name === "string" && Object.hasOwn(variants, name) ? variants[name] : undefined;
    if (variant === undefined) throw new ValidationError(reason, [tag]);
    return variant(value);
  };
}

/** Any JSON value (as `JSON.parse` makes them), at most `maxDepth` deep. */
export function json(rules: { readonly maxDepth?: number } = {}): Check<unknown> {
  const { maxDepth = 16 } = rules;
  const walk = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value === "string" || typeof value === "boolean") return value;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) fail(`expected a JSON value, got ${value}`);
      return value;
    }
    if (depth >= maxDepth) fail(`nested deeper than ${maxDepth} levels`);
    if (Array.isArray(value)) return value.map((item, i) => at(i, (v) => walk(v, depth + 1), item));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value))
        setOwn(
          out,
          key,
          at(key, (v) => walk(v, depth + 1), value[key]),
        );
      return out;
    }
    return fail(`expected a JSON value, got ${describe(value)}`);
  };
  return (value) => walk(value, 0);
}

/**
 * A Rust enum in serde's default ("externally tagged") JSON form, as the spec's types
 * serialise: a unit variant is its name as a string (`"Idle"`), a struct variant is an
 * object with one key, the variant's name (`{ "Watching": { "content_id": "tmdb:550" } }`).
 * `units` lists the unit variants; `structs` maps each struct variant to its body's check.
 */
export function externallyTagged<U extends string, S extends Readonly<Record<string, Check<unknown>>>>(
  units: readonly U[],
  structs: S,
): Check<U | { [K in keyof S]: { [P in K]: Checked<S[K]> } }[keyof S]> {
  const unitSet = new Set<unknown>(units);
  const structNames = Object.keys(structs);
  const reason = `expected one of ${[...units, ...structNames.map((n) => `{ "${n}": … }`)].join(", ")}`;
  type Out = U | { [K in keyof S]: { [P in K]: Checked<S[K]> } }[keyof S];
  return (value) => {
    if (typeof value === "string") {
      if (unitSet.has(value)) return value as Out;
      fail(reason);
    }
    if (!isPlainObject(value)) fail(reason);
    const keys = Object.keys(value);
    const name = keys[0];
    if (keys.length !== 1 || name === undefined || !Object.hasOwn(structs, name)) fail(reason);
    return { [name]: at(name, structs[name]!, value[name]) } as Out;
  };
}
