/**
 * Reconnect backoff (spec 6.2 "1s, 2s, 4s, 8s, max 30s", spec 10.3 `min(retry * 2, max)`).
 *
 * Jitter is opt-in and injected (the core never calls `Math.random`). With `random` we use
 * "equal jitter": a delay uniform in `[d/2, d]` where `d` is the spec's delay. Full jitter
 * (`[0, d]`) spreads a herd of reconnecting devices a little better, but it can retry a dead
 * network at ~0 ms again and again, which costs phones battery; equal jitter keeps the spec's
 * doubling (every delay is at least half of it) while spreading a herd over a factor of two.
 * A custom `jitter` may choose otherwise; its result is clamped to `[0, maxMs]`.
 */

export interface BackoffOptions {
  /** First delay; default 1000 ms. */
  readonly baseMs?: number;
  /** Cap; default 30 000 ms. Never exceeded, jitter included. */
  readonly maxMs?: number;
  /** Maps the spec's delay to the one to use (clamped to `[0, maxMs]`). Excludes `random`. */
  readonly jitter?: (delayMs: number) => number;
  /** A uniform source in `[0, 1)` for equal jitter. Excludes `jitter`. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF_BASE_MS = 1000;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0 for the first retry): `min(baseMs * 2^attempt,
 * maxMs)`, then jittered if asked. Pure given `jitter` / `random`.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = DEFAULT_BACKOFF_BASE_MS, maxMs = DEFAULT_BACKOFF_MAX_MS, jitter, random } = options;
  if (!Number.isSafeInteger(attempt) || attempt < 0) {
    throw new RangeError(`backoffDelayMs: attempt must be a non-negative integer, got ${String(attempt)}`);
  }
  if (!Number.isFinite(baseMs) || baseMs <= 0) {
    throw new RangeError(`backoffDelayMs: baseMs must be a positive finite number, got ${String(baseMs)}`);
  }
  if (!Number.isFinite(maxMs) || maxMs < baseMs) {
    throw new RangeError(`backoffDelayMs: maxMs must be finite and at least baseMs, got ${String(maxMs)}`);
  }
  if (jitter !== undefined && random !== undefined) {
    throw new TypeError("backoffDelayMs: pass either jitter or random, not both");
  }
  // 2 ** attempt is Infinity past attempt 1023; min() still gives the cap.
  const delay = Math.min(baseMs * 2 ** attempt, maxMs);
  if (jitter !== undefined) {
    const jittered = jitter(delay);
    if (typeof jittered !== "number" || Number.isNaN(jittered)) {
      throw new TypeError(`backoffDelayMs: jitter must return a number, got ${String(jittered)}`);
    }
    return Math.min(Math.max(jittered, 0), maxMs);
  }
  if (random !== undefined) {
    const r = random();
    if (typeof r !== "number" || !(r >= 0 && r <= 1)) {
      throw new RangeError(`backoffDelayMs: random must return a number in [0, 1), got ${String(r)}`);
    }
    return delay / 2 + (delay / 2) * r;
  }
  return delay;
}
