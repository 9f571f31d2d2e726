/**
 * Message Persistence for one keyset: every channel's stored messages, oldest first, trimmed by
 * the channel's retention (spec 9.1: a count and a duration per channel) and by a publish's own
 * `ttl` (hours), whichever ends first.
 */
import type { ChannelRetention } from "@mg-sync/crdt-core";

export interface StoredMessage {
  readonly timetoken: bigint;
  readonly channel: string;
  readonly message: unknown;
  readonly publisher: string;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  readonly customMessageType: string | undefined;
  /** When it leaves history, ms since the epoch on the emulator's clock. */
  readonly expiresAtMs: number;
}

/** A history query as fetch-messages and message-counts ask it (research §5.10, §5.12). */
export interface HistoryRange {
  /** Exclusive upper bound: only messages older than `start`. */
  readonly start?: bigint;
  /** Inclusive lower bound: only messages at or newer than `end`. */
  readonly end?: bigint;
  readonly max: number;
}

/** Index of the first element whose timetoken is >= `tt` (the list is sorted ascending). */
function lowerBound(list: readonly StoredMessage[], tt: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.timetoken < tt) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MessageStore {
  readonly #channels = new Map<string, StoredMessage[]>();
  readonly #retention: (channel: string) => ChannelRetention;
  readonly #now: () => number;

  constructor(retention: (channel: string) => ChannelRetention, now: () => number) {
    this.#retention = retention;
    this.#now = now;
  }

  /** Whether `channel` keeps history at all (retention count > 0). */
  keepsHistory(channel: string): boolean {
    return this.#retention(channel).count > 0;
  }

  /** Stores a message (timetokens arrive in increasing order), then trims the channel. */
  append(message: Omit<StoredMessage, "expiresAtMs">, ttlHours: number | undefined): void {
    const retention = this.#retention(message.channel);
    if (retention.count <= 0 || retention.durationMs <= 0) return;
    const now = this.#now();
    let lifeMs = retention.durationMs;
    if (ttlHours !== undefined && ttlHours > 0) lifeMs = Math.min(lifeMs, ttlHours * 3_600_000);
    let list = this.#channels.get(message.channel);
    if (list === undefined) {
      list = [];
      this.#channels.set(message.channel, list);
    }
    list.push({ ...message, expiresAtMs: now + lifeMs });
    if (list.length > retention.count) list.splice(0, list.length - retention.count);
  }

  /** The channel's live messages, expired ones dropped first. */
  #live(channel: string): StoredMessage[] {
    const list = this.#channels.get(channel);
    if (list === undefined) return [];
    const now = this.#now();
    // Per-message ttls may differ, so expiry is not strictly oldest-first: filter, don't slice.
    if (list.some((m) => m.expiresAtMs <= now)) {
      const kept = list.filter((m) => m.expiresAtMs > now);
      if (kept.length === 0) this.#channels.delete(channel);
      else this.#channels.set(channel, kept);
      return kept;
    }
    return list;
  }

  /**
   * PubNub's fetch range (research §5.10): `start` exclusive, `end` inclusive; when more than
   * `max` match, the newest `max` (the ones nearest `start`), returned oldest first so a caller
   * pages back with `start = oldest returned`.
   */
  fetch(channel: string, range: HistoryRange): StoredMessage[] {
    const list = this.#live(channel);
    const from = range.end === undefined ? 0 : lowerBound(list, range.end);
    const to = range.start === undefined ? list.length : lowerBound(list, range.start);
    if (to <= from) return [];
    return list.slice(Math.max(from, to - range.max), to);
  }

  /** Messages newer than `after` (exclusive), capped as PubNub caps message counts. */
  countAfter(channel: string, after: bigint, cap: number): number {
    const list = this.#live(channel);
    let from = lowerBound(list, after);
    if (from < list.length && list[from]!.timetoken === after) from++;
    return Math.min(list.length - from, cap);
  }

  /**
   * Deletes a range (PubNub's delete-messages: `start` exclusive, `end` inclusive, start the
   * older bound; either may be absent). Returns how many were removed.
   */
  delete(channel: string, start: bigint | undefined, end: bigint | undefined): number {
    const list = this.#live(channel);
    const lo = start !== undefined && end !== undefined && start > end ? end : start;
    const hi = start !== undefined && end !== undefined && start > end ? start : end;
    const kept = list.filter(
      (m) => (lo !== undefined && m.timetoken <= lo) || (hi !== undefined && m.timetoken > hi),
    );
    const removed = list.length - kept.length;
    if (kept.length === 0) this.#channels.delete(channel);
    else this.#channels.set(channel, kept);
    return removed;
  }

  /** Every channel with live history (for inspection from tests). */
  channels(): string[] {
    return [...this.#channels.keys()].filter((c) => this.#live(c).length > 0);
  }
}
