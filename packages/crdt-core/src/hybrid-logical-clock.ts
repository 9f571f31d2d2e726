/**
 * A replica's clock: the last timestamp it issued, plus an injected physical clock. All the
 * logic is in `hlc.ts`; this class only keeps state, so a failed call never half-applies.
 *
 * The physical clock is an argument (ARCHITECTURE: no `Date.now()` in the core), which also
 * lets simulations skew and jump it. Persist `peek()` with the data it stamped and pass it back
 * as `last` on restart, or a restarted replica can re-issue timestamps (hlc.md §5).
 */
import {
  HLC_DEFAULT_MAX_DRIFT_MS,
  type Hlc,
  type HlcReceiveOptions,
  hlcLagMs,
  hlcReceive,
  hlcTick,
  isHlc,
} from "./hlc.js";

export interface HybridLogicalClockOptions {
  /** Physical time in whole ms since the Unix epoch (e.g. `Date.now`); may jump either way. */
  readonly now: () => number;
  /** Remote timestamps more than this many ms ahead are rejected (DEVIATIONS 2). */
  readonly maxDriftMs?: number | undefined;
  /** The last timestamp issued before a restart; default 0. */
  readonly last?: Hlc | undefined;
}

export class HybridLogicalClock {
  #last: Hlc;
  readonly #now: () => number;
  readonly #maxDriftMs: number;
  // One options object for every receive: no allocation per message.
  readonly #receiveOptions: HlcReceiveOptions;

  constructor(options: HybridLogicalClockOptions) {
    if (typeof options?.now !== "function") {
      throw new TypeError("HybridLogicalClock: options.now must be a function returning ms");
    }
    const maxDriftMs = options.maxDriftMs === undefined ? HLC_DEFAULT_MAX_DRIFT_MS : options.maxDriftMs;
    const last = options.last === undefined ? 0 : options.last;
    requireNonNegative("options.maxDriftMs", maxDriftMs);
    requireNonNegative("options.last", last);
    this.#now = options.now;
    this.#last = last;
    this.#maxDriftMs = maxDriftMs;
    this.#receiveOptions = { maxDriftMs };
  }

  get maxDriftMs(): number {
    return this.#maxDriftMs;
  }

  /** The last timestamp issued or received, without ticking. */
  peek(): Hlc {
    return this.#last;
  }

  /** A local or send event. Never throws for drift (DEVIATIONS 2). */
  tick(): Hlc {
    this.#last = hlcTick(this.#last, this.#read());
    return this.#last;
  }

  /** A receive event. On `ClockDriftError` (or any error) the clock is unchanged. */
  receive(remote: Hlc): Hlc {
    this.#last = hlcReceive(this.#last, remote, this.#read(), this.#receiveOptions);
    return this.#last;
  }

  /**
   * Receives a batch all-or-nothing (hlc.md P18; Actual PR #8904: a batch that failed half-way
   * had left the clock ahead of any data it applied). Folds over a local copy with one physical
   * reading and commits only if every timestamp is accepted. Returns the new `peek()`.
   */
  receiveAll(remotes: readonly Hlc[]): Hlc {
    if (remotes.length === 0) return this.#last;
    const pt = this.#read();
    let next = this.#last;
    for (const remote of remotes) next = hlcReceive(next, remote, pt, this.#receiveOptions);
    this.#last = next;
    return next;
  }

  /** `wallMs(peek()) - now()`: how far the clock runs ahead of physical time. */
  lagMs(): number {
    return hlcLagMs(this.#last, this.#read());
  }

  #read(): number {
    const pt = this.#now();
    requireNonNegative("now()", pt);
    return pt;
  }
}

function requireNonNegative(name: string, value: unknown): asserts value is number {
  if (!isHlc(value)) {
    throw new RangeError(
      `HybridLogicalClock: ${name} must be a non-negative safe integer, got ${typeof value === "number" ? value : typeof value}`,
    );
  }
}
