/**
 * What subscribers receive: per channel (presence channels `<ch>-pnpres` included), the recent
 * envelopes in timetoken order, and the long-polls waiting for them. Like PubNub's own
 * subscribe cache, it is bounded (a count and an age per channel): a client that comes back
 * with an older cursor gets what is still cached, and must use history for the rest.
 */

/** A subscribe envelope (research §5.4) without `b`, which depends on the subscription. */
export interface Envelope {
  readonly a: string;
  readonly f: number;
  readonly i?: string;
  readonly p: { readonly t: string; readonly r: number };
  readonly k: string;
  readonly c: string;
  readonly d: unknown;
  readonly u?: Readonly<Record<string, unknown>>;
  readonly cmt?: string;
  readonly e?: number;
}

interface FeedEntry {
  readonly timetoken: bigint;
  readonly atMs: number;
  readonly envelope: Envelope;
}

/** One subscribe request's view: channel → what to put in `b`. */
export type SubscriptionMap = ReadonlyMap<string, string>;

export interface PendingPoll {
  readonly cursor: bigint;
  /** Recomputed on every check: group membership may change while a poll is held. */
  readonly subscription: () => SubscriptionMap;
  readonly deliver: (envelopes: Array<Envelope & { readonly b: string }>, cursor: bigint) => void;
}

export interface FeedLimits {
  readonly perChannel: number;
  readonly maxAgeMs: number;
  readonly maxPerResponse: number;
}

export class SubscribeFeed {
  readonly #channels = new Map<string, FeedEntry[]>();
  readonly #polls = new Set<PendingPoll>();
  readonly #limits: FeedLimits;
  readonly #now: () => number;
  #flushScheduled = false;

  constructor(limits: FeedLimits, now: () => number) {
    this.#limits = limits;
    this.#now = now;
  }

  append(timetoken: bigint, envelope: Envelope): void {
    const now = this.#now();
    let list = this.#channels.get(envelope.c);
    if (list === undefined) {
      list = [];
      this.#channels.set(envelope.c, list);
    }
    list.push({ timetoken, atMs: now, envelope });
    let drop = Math.max(0, list.length - this.#limits.perChannel);
    while (drop < list.length && now - list[drop]!.atMs > this.#limits.maxAgeMs) drop++;
    if (drop > 0) list.splice(0, drop);
    // Batch: a burst of publishes in one tick reaches a waiting poll as one answer.
    if (!this.#flushScheduled && this.#polls.size > 0) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        for (const poll of [...this.#polls]) this.#tryDeliver(poll);
      });
    }
  }

  /** Envelopes newer than `cursor` on the subscribed channels, oldest first, at most one answer's worth. */
  collect(
    cursor: bigint,
    subscription: SubscriptionMap,
  ): { envelopes: Array<Envelope & { readonly b: string }>; cursor: bigint } {
    const now = this.#now();
    const found: Array<{ timetoken: bigint; envelope: Envelope & { readonly b: string } }> = [];
    for (const [channel, b] of subscription) {
      const list = this.#channels.get(channel);
      if (list === undefined) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const entry = list[i]!;
        if (entry.timetoken <= cursor) break;
        if (now - entry.atMs > this.#limits.maxAgeMs) break;
        found.push({ timetoken: entry.timetoken, envelope: { ...entry.envelope, b } });
      }
    }
    if (found.length === 0) return { envelopes: [], cursor };
    found.sort((x, y) => (x.timetoken < y.timetoken ? -1 : x.timetoken > y.timetoken ? 1 : 0));
    const page = found.slice(0, this.#limits.maxPerResponse);
    return { envelopes: page.map((f) => f.envelope), cursor: page[page.length - 1]!.timetoken };
  }

  /** Registers a held poll; answers it at once if something is already there. */
  wait(poll: PendingPoll): () => void {
    this.#polls.add(poll);
    this.#tryDeliver(poll);
    return () => {
      this.#polls.delete(poll);
    };
  }

  #tryDeliver(poll: PendingPoll): void {
    if (!this.#polls.has(poll)) return;
    const { envelopes, cursor } = this.collect(poll.cursor, poll.subscription());
    if (envelopes.length === 0) return;
    this.#polls.delete(poll);
    poll.deliver(envelopes, cursor);
  }

  /** Answers every held poll with its own cursor and nothing, as a server shutting down would. */
  releaseAll(): void {
    for (const poll of [...this.#polls]) {
      this.#polls.delete(poll);
      poll.deliver([], poll.cursor);
    }
  }

  get pendingPolls(): number {
    return this.#polls.size;
  }
}
