/**
 * The client's Hybrid Logical Clock over the injected wall clock (spec 7.3, DEVIATIONS 1–2).
 *
 * Receive is split in two, `receiving` (compute, may throw `ClockDriftError`) and `commit`, so
 * the client runs every other check on a message (its merge may still refuse a double-spent
 * dot) before the clock moves: a rejected message never moves the clock (issue 5).
 */
import { type Clock, type Hlc, hlcReceive, hlcTick, isHlc } from "@mg-sync/crdt-core";

export class ClientClock {
  #last: Hlc;
  readonly #clock: Clock;
  readonly #receiveOptions: { readonly maxDriftMs: number };

  constructor(clock: Clock, maxDriftMs: number, last: Hlc) {
    this.#clock = clock;
    this.#last = last;
    this.#receiveOptions = { maxDriftMs };
  }

  /** The wall clock in whole ms (the HLC's physical part). */
  nowMs(): number {
    const now = this.#clock.now();
    if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
      throw new RangeError(`clock.now() must return finite non-negative ms, got ${String(now)}`);
    }
    return Math.floor(now);
  }

  /** The last timestamp issued or received. */
  peek(): Hlc {
    return this.#last;
  }

  /** A local event or a send. */
  tick(): Hlc {
    this.#last = hlcTick(this.#last, this.nowMs());
    return this.#last;
  }

  /** What the clock would be after receiving `remote`; throws `ClockDriftError`; changes nothing. */
  receiving(remote: Hlc): Hlc {
    return hlcReceive(this.#last, remote, this.nowMs(), this.#receiveOptions);
  }

  /** Adopts a value `receiving` returned (never moves the clock back). */
  commit(next: Hlc): void {
    if (!isHlc(next)) throw new RangeError(`commit: not an HLC timestamp: ${String(next)}`);
    if (next > this.#last) this.#last = next;
  }
}
