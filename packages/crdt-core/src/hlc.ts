/**
 * Hybrid Logical Clock (spec 7.3), as pure functions over one number.
 *
 * Algorithm: Kulkarni, Demirbas et al., "Logical Physical Clocks" (OPODIS 2014), Figure 5,
 * rule for rule. The spec's receive rule is not used: its last branch takes
 * `max(c, c.m) + 1` even when the remote `l` is older, inflating the counter (hlc.md §1 D2).
 *
 * Encoding (DEVIATIONS 1): a timestamp is ONE non-negative safe integer
 * `wallMs * 1000 + counter`, `0 <= counter <= 999`. It orders with `<`, survives JSON, and is
 * exact until 2255-06-05. The spec's `(µs << 16) | logical` overflowed an i64 in 1978, and
 * `<<`/`|` on a JS number are 32-bit, so no bitwise operator ever touches a timestamp.
 * A counter that would pass 999 carries into the next millisecond instead of wrapping
 * (the spec's `& 0xFFFF` re-issues old timestamps, hlc.md §1 D3).
 *
 * Drift (DEVIATIONS 2): a receive whose remote wall is more than `maxDriftMs` ahead of local
 * physical time throws `ClockDriftError` before anything is computed, so one device with its
 * clock in 2089 cannot drag every peer there. Ticks never check drift: a local clock set back
 * must still be able to write (hlc.md §7, Actual #3786).
 *
 * Misuse (NaN, negative, fractional, unsafe, non-number) throws `RangeError` naming the
 * argument; wire values are validated earlier by `hlcTimestamp` in messages/common.ts.
 */

/** `wallMs * 1000 + counter`; see the module comment. */
export type Hlc = number;

/** Largest counter within one millisecond. */
export const HLC_COUNTER_MAX = 999;
/** Largest timestamp: `Number.MAX_SAFE_INTEGER` = (wallMs 9007199254740, counter 991), 2255-06-05. */
export const HLC_MAX: Hlc = Number.MAX_SAFE_INTEGER;
/** Largest wall time that has any timestamp (its last valid counter is 991, not 999). */
export const HLC_MAX_WALL_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
/** DEVIATIONS 2 (crdt-example-app's value; hlc.md §0.6 discusses 5 min). */
export const HLC_DEFAULT_MAX_DRIFT_MS = 60_000;
/** Width of `hlcToString`: every valid timestamp has at most 16 decimal digits. */
export const HLC_STRING_LENGTH = 16;

const UNITS = HLC_COUNTER_MAX + 1;

/** A remote timestamp is too far ahead of local physical time (DEVIATIONS 2). */
export class ClockDriftError extends Error {
  override readonly name = "ClockDriftError";
  /** The rejected remote timestamp. */
  readonly remote: Hlc;
  /** Local physical time when it was rejected. */
  readonly physicalMs: number;
  /** `wallMs(remote) - physicalMs`, always `> maxDriftMs`. */
  readonly aheadMs: number;
  readonly maxDriftMs: number;

  constructor(remote: Hlc, physicalMs: number, aheadMs: number, maxDriftMs: number) {
    super(
      `remote clock is ${aheadMs} ms ahead of local physical time (max ${maxDriftMs} ms): ` +
        `remote ${remote}, physicalMs ${physicalMs}`,
    );
    this.remote = remote;
    this.physicalMs = physicalMs;
    this.aheadMs = aheadMs;
    this.maxDriftMs = maxDriftMs;
  }
}

export interface HlcReceiveOptions {
  /** Non-negative safe integer; default `HLC_DEFAULT_MAX_DRIFT_MS`. */
  readonly maxDriftMs?: number | undefined;
}

/** A non-negative safe integer: every such number is a valid timestamp. */
export function isHlc(value: unknown): value is Hlc {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function hlcEncode(wallMs: number, counter: number): Hlc {
  requireNonNegative("hlcEncode", "wallMs", wallMs);
  if (!Number.isInteger(counter) || counter < 0 || counter > HLC_COUNTER_MAX) {
    throw new RangeError(
      `hlcEncode: counter must be an integer from 0 to ${HLC_COUNTER_MAX}, got ${describe(counter)}`,
    );
  }
  return compose("hlcEncode", wallMs, counter);
}

export function hlcDecode(ts: Hlc): { wallMs: number; counter: number } {
  requireNonNegative("hlcDecode", "ts", ts);
  const counter = ts % UNITS;
  return { wallMs: (ts - counter) / UNITS, counter };
}

export function hlcWallMs(ts: Hlc): number {
  requireNonNegative("hlcWallMs", "ts", ts);
  return (ts - (ts % UNITS)) / UNITS;
}

export function hlcCounter(ts: Hlc): number {
  requireNonNegative("hlcCounter", "ts", ts);
  return ts % UNITS;
}

/**
 * Send or local event (Figure 5, first rule). Physical time going backwards (`pt < l`) only
 * ticks the counter: the clock never moves backwards and never throws for drift.
 */
export function hlcTick(last: Hlc, physicalMs: number): Hlc {
  requireNonNegative("hlcTick", "last", last);
  requireNonNegative("hlcTick", "physicalMs", physicalMs);
  const pt = physicalMs;
  const c = last % UNITS;
  const l = (last - c) / UNITS;

  const l2 = Math.max(l, pt);
  const c2 = l2 === l ? c + 1 : 0;
  return compose("hlcTick", l2, c2);
}

/**
 * Receive event (Figure 5, second rule), after the drift check of DEVIATIONS 2. Returns the
 * timestamp of the receive event itself, greater than both `last` and `remote` (a bare
 * ratchet to `max(last, remote)` would be wrong if the caller stamps the receive, hlc.md §2).
 */
export function hlcReceive(last: Hlc, remote: Hlc, physicalMs: number, options?: HlcReceiveOptions): Hlc {
  requireNonNegative("hlcReceive", "last", last);
  requireNonNegative("hlcReceive", "remote", remote);
  requireNonNegative("hlcReceive", "physicalMs", physicalMs);
  const maxDriftMs = options?.maxDriftMs === undefined ? HLC_DEFAULT_MAX_DRIFT_MS : options.maxDriftMs;
  requireNonNegative("hlcReceive", "maxDriftMs", maxDriftMs);
  const pt = physicalMs;
  const cm = remote % UNITS;
  const lm = (remote - cm) / UNITS;

  // Strict `>`, as CockroachDB, crdt-example-app, uhlc and MongoDB: exactly maxDriftMs ahead
  // is accepted. Both operands are safe integers, so the difference is exact.
  const aheadMs = lm - pt;
  if (aheadMs > maxDriftMs) throw new ClockDriftError(remote, pt, aheadMs, maxDriftMs);

  const c = last % UNITS;
  const l = (last - c) / UNITS;

  const l2 = Math.max(l, lm, pt);
  let c2: number;
  if (l2 === l && l2 === lm) c2 = Math.max(c, cm) + 1;
  else if (l2 === l) c2 = c + 1;
  else if (l2 === lm) c2 = cm + 1;
  else c2 = 0;
  return compose("hlcReceive", l2, c2);
}

/**
 * `-1`, `0` or `1`; timestamps also order correctly with plain `<`. Ties between devices are
 * broken by `lwwCompare` in lww.ts (DEVIATIONS 3), which owns the `(ts, device id)` order.
 */
export function hlcCompare(a: Hlc, b: Hlc): -1 | 0 | 1 {
  requireNonNegative("hlcCompare", "a", a);
  requireNonNegative("hlcCompare", "b", b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * How far the clock is ahead of physical time, `wallMs(ts) - physicalMs`, so an app can warn
 * "your clock is behind" (hlc.md §5). Negative while the clock has not ticked since physical
 * time passed it.
 */
export function hlcLagMs(ts: Hlc, physicalMs: number): number {
  requireNonNegative("hlcLagMs", "ts", ts);
  requireNonNegative("hlcLagMs", "physicalMs", physicalMs);
  return (ts - (ts % UNITS)) / UNITS - physicalMs;
}

/** Fixed width (16 digits, zero-padded), so string order equals numeric order (storage keys). */
export function hlcToString(ts: Hlc): string {
  requireNonNegative("hlcToString", "ts", ts);
  return String(ts).padStart(HLC_STRING_LENGTH, "0");
}

const HLC_STRING = /^[0-9]{16}$/;

/** Inverse of `hlcToString`: exactly 16 decimal digits, at most `HLC_MAX`. */
export function hlcParse(text: string): Hlc {
  if (typeof text !== "string" || !HLC_STRING.test(text)) {
    throw new RangeError(`hlcParse: text must be exactly 16 decimal digits, got ${describe(text)}`);
  }
  // 16 digits never round below 2^53, so an out-of-range text cannot pass as HLC_MAX.
  const ts = Number(text);
  if (ts > HLC_MAX) throw new RangeError(`hlcParse: text exceeds HLC_MAX (${HLC_MAX}), got "${text}"`);
  return ts;
}

/** Builds `l * 1000 + c`, carrying a counter of 1000 into the next millisecond (DEVIATIONS 1). */
function compose(fn: string, l: number, c: number): Hlc {
  if (c > HLC_COUNTER_MAX) {
    l += 1;
    c = 0;
  }
  // Exact while l <= HLC_MAX_WALL_MS; beyond that the product is inexact but still > HLC_MAX,
  // so the check below can never let a rounded value through.
  const ts = l * UNITS + c;
  if (ts > HLC_MAX) {
    throw new RangeError(
      `${fn}: result (wallMs ${l}, counter ${c}) exceeds HLC_MAX (${HLC_MAX}, 2255-06-05T23:47:34.740Z)`,
    );
  }
  return ts;
}

function requireNonNegative(fn: string, name: string, value: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${fn}: ${name} must be a non-negative safe integer, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case "number":
      return String(value);
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "bigint":
      return `${value}n`;
    case "boolean":
    case "undefined":
      return String(value);
    case "object":
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
    default:
      return `a ${typeof value}`;
  }
}
