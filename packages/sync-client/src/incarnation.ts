/**
 * The watchlist's dot-replica id for one life of a client (docs/decisions.md, "a fresh dot
 * replica per incarnation").
 *
 * A dot `[replica, counter]` must name one add for ever (DoubleSpentDotError otherwise). A
 * device's counter lives in its state; restored from a snapshot older than what it already
 * published, it would count again from the old value and mint a dot it has already used for
 * another title. Giving every client instance a fresh replica id (`${deviceId}~` + 8 random
 * base-36 characters) makes that impossible without any coordination: the new replica's counter
 * starts at 1 in a counter space nobody has used. The price is one version-vector entry per
 * incarnation, a few bytes each.
 */
import type { Random } from "@mg-sync/crdt-core";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
/** 36^8 ≈ 2.8e12 ids: two incarnations of one device colliding is not a practical concern. */
export const INCARNATION_SUFFIX_LENGTH = 8;
/** Separates the device id from the incarnation suffix; no device id we accept needs it. */
export const INCARNATION_SEPARATOR = "~";

export function newIncarnationId(deviceId: string, random: Random): string {
  let suffix = "";
  for (let i = 0; i < INCARNATION_SUFFIX_LENGTH; i++) {
    const r = random();
    if (typeof r !== "number" || !(r >= 0 && r < 1)) {
      throw new RangeError(`random must return a number in [0, 1), got ${String(r)}`);
    }
    suffix += ALPHABET[Math.floor(r * ALPHABET.length)];
  }
  return `${deviceId}${INCARNATION_SEPARATOR}${suffix}`;
}
