/**
 * One channel's message history on the simulated server, under spec 9.1's retention: at most
 * `count` messages, none older than `durationMs`. Eviction is lazy (on append and on read), which
 * is exact on virtual time: what a read sees depends only on the read's instant.
 *
 * The log also remembers the newest timetoken it ever evicted, so a catch-up after a partition can
 * tell whether history still reaches back to where the client left off (DEVIATIONS 9).
 */
import {
  type ChannelRetention,
  type HistoryOptions,
  type Timetoken,
  timetokenCompare,
} from "@mg-sync/crdt-core";

/** A message as the server keeps it: payload and meta as JSON text, parsed afresh per receiver. */
export interface StoredMessage {
  readonly channel: string;
  readonly timetoken: Timetoken;
  /**
   * The timetoken of the message published on this channel just before (stored or not), `"0"`
   * for the first: a client that misses this message resumes after `previous`.
   */
  readonly previous: Timetoken;
  readonly publisher: string;
  readonly payloadText: string;
  readonly metaText: string | undefined;
  readonly publishedAtMs: number;
}

/** PubNub's cap on one history call, and its default. */
export const MAX_HISTORY_COUNT = 100;

export class ChannelLog {
  readonly retention: ChannelRetention;
  /** The newest timetoken evicted so far (by count or age), if any. */
  evictedNewest: Timetoken | undefined;
  private entries: StoredMessage[] = [];
  private head = 0;

  constructor(retention: ChannelRetention) {
    this.retention = retention;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Appends (timetokens arrive in increasing order) and evicts; returns how many were evicted. */
  append(message: StoredMessage, nowMs: number): number {
    this.entries.push(message);
    let evicted = this.expire(nowMs);
    while (this.size > this.retention.count) {
      this.evictHead();
      evicted++;
    }
    this.compact();
    return evicted;
  }

  /** Evicts what is `durationMs` old or older; returns how many. */
  expire(nowMs: number): number {
    let evicted = 0;
    const oldestKept = nowMs - this.retention.durationMs;
    while (this.head < this.entries.length && this.entries[this.head]!.publishedAtMs <= oldestKept) {
      this.evictHead();
      evicted++;
    }
    this.compact();
    return evicted;
  }

  /**
   * PubNub's range (crdt-core `HistoryOptions`): `start` exclusive, `end` inclusive, the newest
   * `count` of what lies between, returned oldest first.
   */
  query(options: HistoryOptions & { readonly count: number }): StoredMessage[] {
    const { start, end, count } = options;
    const out: StoredMessage[] = [];
    for (let i = this.entries.length - 1; i >= this.head && out.length < count; i--) {
      const message = this.entries[i]!;
      if (end !== undefined && timetokenCompare(message.timetoken, end) < 0) break;
      if (start !== undefined && timetokenCompare(message.timetoken, start) >= 0) continue;
      out.push(message);
    }
    return out.reverse();
  }

  /** Every kept message with a timetoken greater than `after`, oldest first. */
  since(after: Timetoken): StoredMessage[] {
    let i = this.entries.length;
    while (i > this.head && timetokenCompare(this.entries[i - 1]!.timetoken, after) > 0) i--;
    return this.entries.slice(i);
  }

  private evictHead(): void {
    this.evictedNewest = this.entries[this.head]!.timetoken;
    this.head++;
  }

  /** Drops evicted slots once they are the larger half, so eviction stays O(1) amortized. */
  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
