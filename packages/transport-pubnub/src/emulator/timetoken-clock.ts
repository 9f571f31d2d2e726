/**
 * Strictly increasing 17-digit timetokens (research §7): Unix time in 100-ns ticks, made as
 * PubNub's SDK makes "now" (milliseconds followed by four digits), and bumped by one tick when
 * two events fall in the same millisecond. BigInt, because the value passes 2^53.
 */
export class TimetokenClock {
  #last = 0n;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A fresh timetoken, greater than every one issued before. */
  next(): bigint {
    const fromClock = BigInt(Math.floor(this.#now())) * 10_000n;
    this.#last = fromClock > this.#last ? fromClock : this.#last + 1n;
    return this.#last;
  }

  /** The newest timetoken issued (or "now" when none was): a subscribe handshake's cursor. */
  current(): bigint {
    const fromClock = BigInt(Math.floor(this.#now())) * 10_000n;
    return fromClock > this.#last ? fromClock : this.#last;
  }
}

/** A timetoken from the wire; `undefined` unless it is a plain non-negative decimal integer. */
export function parseTimetoken(value: string | undefined): bigint | undefined {
  if (value === undefined || !/^[0-9]{1,20}$/.test(value)) return undefined;
  return BigInt(value);
}
