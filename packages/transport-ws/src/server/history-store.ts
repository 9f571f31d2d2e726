/**
 * Where the hub keeps each channel's timetoken counter and history. An interface, because
 * several hub processes will share one through Redis streams (ARCHITECTURE.md, "the hub beyond
 * one machine"); `MemoryHistoryStore` is the in-process one. Every method is async for that
 * reason, even though the in-process store answers at once.
 */
import {
  type ChannelRetention,
  type Timetoken,
  timetokenCompare,
  timetokenFromMs,
  timetokenToMs,
} from "@mg-sync/crdt-core";

/** A published message as the hub stores and fans it out. */
export interface HubMessage {
  readonly channel: string;
  readonly timetoken: Timetoken;
  readonly publisher: string;
  readonly payload: unknown;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface AppendInput {
  readonly publisher: string;
  readonly payload: unknown;
  readonly meta?: Readonly<Record<string, unknown>>;
  /** False: the message gets a timetoken but is not kept (`storeInHistory: false`, or count 0). */
  readonly store: boolean;
  readonly retention: ChannelRetention;
}

export interface CatchUp {
  /** Retained messages after `since`, oldest first, at most `limit`. */
  readonly messages: readonly HubMessage[];
  /**
   * Some message after `since` is not in history any more (evicted by count or age, published
   * with `store: false`, or older than this store: a restarted hub cannot know).
   */
  readonly gap: boolean;
}

export interface HistoryQuery {
  /** Exclusive: only messages older than this. */
  readonly start?: Timetoken;
  /** Inclusive: only messages at or after this. */
  readonly end?: Timetoken;
  /** The newest `count` of the range are returned, oldest first. */
  readonly count: number;
}

export interface HistoryStore {
  /**
   * Gives the message the channel's next timetoken, greater than every timetoken the channel
   * has had and at least `nowMs`'s, and keeps it if asked.
   */
  append(channel: string, input: AppendInput, nowMs: number): Promise<HubMessage>;
  /**
   * The channel's newest timetoken, reserved: every later append gets a greater one. A channel
   * with no messages reserves `nowMs`'s timetoken, so a subscriber can use it as its `since`.
   */
  head(channel: string, nowMs: number): Promise<Timetoken>;
  /** What a subscriber that last saw `since` has missed (see `CatchUp`). */
  after(channel: string, since: Timetoken, limit: number, nowMs: number): Promise<CatchUp>;
  query(channel: string, query: HistoryQuery, nowMs: number): Promise<readonly HubMessage[]>;
  /** Evicts what is past its retention age everywhere; forgets idle empty channels. */
  sweep(nowMs: number): Promise<void>;
  /** Messages held, for metrics. */
  readonly size: number;
}

interface ChannelLog {
  /** Oldest first. */
  readonly messages: HubMessage[];
  /** The newest timetoken assigned or reserved. */
  head: bigint;
  /** The newest timetoken that was assigned and is not (or no longer) in `messages`. */
  lost: bigint;
  retention: ChannelRetention;
}

const TICKS_PER_MS = 10_000n;

function ticksOfMs(ms: number): bigint {
  return BigInt(timetokenFromMs(ms));
}

/** The first index whose timetoken is greater than `after` (binary search; oldest first). */
function firstAfter(messages: readonly HubMessage[], after: Timetoken): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timetokenCompare(messages[mid]!.timetoken, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose timetoken is at least `from`. */
function firstAtOrAfter(messages: readonly HubMessage[], from: Timetoken): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timetokenCompare(messages[mid]!.timetoken, from) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One process's history: an array per channel, oldest first, trimmed to the retention count on
 * append and to the retention age on every read and sweep.
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly #logs = new Map<string, ChannelLog>();
  /** Timetokens before this store existed are unknown to it (a restarted hub). */
  readonly #born: bigint;
  /**
   * The newest `head` of a channel log this store forgot (sweep). A catch-up from before it on
   * a channel with no log cannot be proven gap-free, so it reports a gap: a needless
   * reconciliation at worst, never a silent loss.
   */
  #forgotten = 0n;
  #size = 0;

  constructor(options: { readonly nowMs?: number } = {}) {
    this.#born = ticksOfMs(options.nowMs ?? Date.now());
  }

  get size(): number {
    return this.#size;
  }

  #log(channel: string, nowMs: number, retention?: ChannelRetention): ChannelLog {
    let log = this.#logs.get(channel);
    if (log === undefined) {
      // A channel this store forgot (or never knew) may have lost anything up to `#forgotten`.
      log = {
        messages: [],
        head: 0n,
        lost: this.#forgotten,
        retention: retention ?? { count: 0, durationMs: 0 },
      };
      this.#logs.set(channel, log);
    }
    if (retention !== undefined) log.retention = retention;
    this.#expire(log, nowMs);
    return log;
  }

  #expire(log: ChannelLog, nowMs: number): void {
    const messages = log.messages;
    if (messages.length === 0) return;
    const oldestKeptMs = nowMs - log.retention.durationMs;
    let drop = 0;
    while (drop < messages.length && timetokenToMs(messages[drop]!.timetoken) < oldestKeptMs) drop++;
    if (drop > 0) this.#drop(log, drop);
  }

  #drop(log: ChannelLog, count: number): void {
    const removed = log.messages.splice(0, count);
    const newest = BigInt(removed[removed.length - 1]!.timetoken);
    if (newest > log.lost) log.lost = newest;
    this.#size -= removed.length;
  }

  async append(channel: string, input: AppendInput, nowMs: number): Promise<HubMessage> {
    const log = this.#log(channel, nowMs, input.retention);
    const now = ticksOfMs(nowMs);
    const next = now > log.head ? now : log.head + 1n;
    log.head = next;
    const message: HubMessage =
      input.meta === undefined
        ? { channel, timetoken: next.toString(), publisher: input.publisher, payload: input.payload }
        : {
            channel,
            timetoken: next.toString(),
            publisher: input.publisher,
            payload: input.payload,
            meta: input.meta,
          };
    // Not stored by choice (the publisher's `store: false`, or a channel that keeps nothing):
    // ephemeral, like PubNub's `store=0`, so missing it is no gap. Only evictions are losses.
    if (!input.store || log.retention.count <= 0 || log.retention.durationMs <= 0) return message;
    log.messages.push(message);
    this.#size++;
    if (log.messages.length > log.retention.count) this.#drop(log, log.messages.length - log.retention.count);
    return message;
  }

  async head(channel: string, nowMs: number): Promise<Timetoken> {
    const log = this.#log(channel, nowMs);
    if (log.head === 0n) log.head = ticksOfMs(nowMs);
    return log.head.toString();
  }

  async after(channel: string, since: Timetoken, limit: number, nowMs: number): Promise<CatchUp> {
    const sinceTicks = BigInt(since);
    const log = this.#log(channel, nowMs);
    const gap = sinceTicks < this.#born || log.lost > sinceTicks;
    const from = firstAfter(log.messages, since);
    return { messages: log.messages.slice(from, from + limit), gap };
  }

  async query(channel: string, query: HistoryQuery, nowMs: number): Promise<readonly HubMessage[]> {
    const log = this.#logs.get(channel);
    if (log === undefined) return [];
    this.#expire(log, nowMs);
    const messages = log.messages;
    const from = query.end === undefined ? 0 : firstAtOrAfter(messages, query.end);
    const to = query.start === undefined ? messages.length : firstAtOrAfter(messages, query.start);
    return to <= from ? [] : messages.slice(Math.max(from, to - query.count), to);
  }

  async sweep(nowMs: number): Promise<void> {
    const now = ticksOfMs(nowMs);
    for (const [channel, log] of this.#logs) {
      this.#expire(log, nowMs);
      // An empty log idle for longer than its retention only remembers `head` and `lost`;
      // forget it and let `#forgotten` stand for them (see there).
      if (
        log.messages.length === 0 &&
        log.head + BigInt(Math.max(log.retention.durationMs, 0)) * TICKS_PER_MS < now
      ) {
        if (log.head > this.#forgotten) this.#forgotten = log.head;
        this.#logs.delete(channel);
      }
    }
  }
}
