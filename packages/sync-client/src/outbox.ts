/**
 * Everything the client publishes goes through here (spec 5.1 "background publish", 10.3
 * "client-side queue for offline buffering").
 *
 * - **FIFO per channel**: one publish in flight per channel, the next starts only after the
 *   transport acknowledged the previous one, so the transport's per-publisher FIFO guarantee
 *   carries our order (deltas of one device stay in order).
 * - **Never dropped while the client lives**: a failed publish is retried after
 *   `backoffDelayMs(attempt)` with equal jitter from the injected random (spec 6.2: 1 s, 2 s, 4 s …
 *   30 s). Only a failure that no retry can fix drops an entry: `payload_too_large` and
 *   `invalid_argument` mean we built a bad message (a bug), so retrying would wedge the channel
 *   for ever; those are dropped and reported. A `closed` transport halts the outbox, keeping
 *   the entries (the snapshot carries the unsent sync deltas to the next life).
 * - **Replaceable entries** (heartbeats): a newer one replaces a queued, not yet sent older one,
 *   so a long partition queues one heartbeat, not thousands.
 * - **Synchronous when it can**: with a plaintext payload the transport's `publish` is called in
 *   the same turn as `enqueue`, so on a virtual-time network a change leaves at the instant it
 *   was made. Encryption is async (WebCrypto); the channel waits for it, in order.
 */
import {
  backoffDelayMs,
  type CancelTimer,
  type Message,
  type PublishOptions,
  type Random,
  type Scheduler,
  type Timetoken,
  type Transport,
  TransportError,
} from "@mg-sync/crdt-core";

/** Past this many failures in a row the delay stays at the cap; keeps `2 ** attempt` small. */
const MAX_BACKOFF_ATTEMPT = 16;

export interface OutboxEntry {
  readonly channel: string;
  readonly message: Message;
  /** Kept in the channel's history (default true). */
  readonly store: boolean;
  /** Entries with the same key replace each other while queued (heartbeats). */
  readonly replaceKey: string | undefined;
  /** The wire payload, encoded (and encrypted) once, at the first attempt. */
  payload: unknown;
  attempts: number;
  settle: { resolve(timetoken: Timetoken): void; reject(error: unknown): void } | undefined;
}

export interface OutboxHooks {
  /** The wire payload of a message on a channel: the message itself, or a promise of its envelope. */
  encode(channel: string, message: Message): unknown;
  published(entry: OutboxEntry, timetoken: Timetoken): void;
  retrying(entry: OutboxEntry, error: unknown, delayMs: number): void;
  dropped(entry: OutboxEntry, error: unknown): void;
  halted(error: unknown): void;
}

export interface EnqueueOptions {
  readonly store?: boolean;
  readonly replaceKey?: string;
  /** Return a promise of the timetoken (rejected if the entry is dropped or the outbox stops). */
  readonly awaited?: boolean;
}

export class Outbox {
  readonly #transport: Transport;
  readonly #scheduler: Scheduler;
  readonly #random: Random;
  readonly #hooks: OutboxHooks;
  readonly #queues = new Map<string, OutboxEntry[]>();
  /** Channels whose head entry is being encoded or published. */
  readonly #busy = new Set<string>();
  readonly #retryTimers = new Map<string, CancelTimer>();
  #running = false;
  #halted = false;
  #size = 0;
  #drainWaiters: Array<() => void> = [];
  /** Entries being encoded (encrypted) right now, off the network. */
  #encoding = 0;
  #encodedWaiters: Array<() => void> = [];

  constructor(transport: Transport, scheduler: Scheduler, random: Random, hooks: OutboxHooks) {
    this.#transport = transport;
    this.#scheduler = scheduler;
    this.#random = random;
    this.#hooks = hooks;
  }

  /** Entries not yet acknowledged, in order, per channel (the head may be in flight). */
  get size(): number {
    return this.#size;
  }

  /** Entries being encrypted now. */
  get encoding(): number {
    return this.#encoding;
  }

  entries(): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const queue of this.#queues.values()) out.push(...queue);
    return out;
  }

  enqueue(channel: string, message: Message, options: EnqueueOptions & { awaited: true }): Promise<Timetoken>;
  enqueue(channel: string, message: Message, options?: EnqueueOptions): undefined;
  enqueue(channel: string, message: Message, options: EnqueueOptions = {}): Promise<Timetoken> | undefined {
    const entry: OutboxEntry = {
      channel,
      message,
      store: options.store ?? true,
      replaceKey: options.replaceKey,
      payload: undefined,
      attempts: 0,
      settle: undefined,
    };
    const promise =
      options.awaited === true
        ? new Promise<Timetoken>((resolve, reject) => {
            entry.settle = { resolve, reject };
          })
        : undefined;
    let queue = this.#queues.get(channel);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(channel, queue);
    }
    if (entry.replaceKey !== undefined) this.#removeReplaceable(channel, queue, entry.replaceKey);
    queue.push(entry);
    this.#size++;
    this.#pump(channel);
    return promise;
  }

  /** Starts (or resumes) publishing. */
  start(): void {
    if (this.#halted) return;
    this.#running = true;
    for (const channel of this.#queues.keys()) this.#pump(channel);
  }

  /** Retries every waiting channel now, from a fresh backoff (e.g. after a reconnect). */
  retryNow(): void {
    for (const [channel, cancel] of this.#retryTimers) {
      cancel();
      this.#retryTimers.delete(channel);
      const head = this.#queues.get(channel)?.[0];
      if (head !== undefined) head.attempts = 0;
    }
    if (this.#running) for (const channel of this.#queues.keys()) this.#pump(channel);
  }

  /** Resolves once nothing is queued (at once if nothing is). */
  whenDrained(): Promise<void> {
    if (this.#size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Resolves once no entry is being encoded: then everything encodable has reached the
   * transport (a simulation waits for this before it lets virtual time run on).
   */
  whenEncoded(): Promise<void> {
    if (this.#encoding === 0) return Promise.resolve();
    return new Promise((resolve) => this.#encodedWaiters.push(resolve));
  }

  #encoded(): void {
    if (--this.#encoding > 0) return;
    const waiters = this.#encodedWaiters;
    this.#encodedWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Stops for good: no more attempts; awaited entries are rejected with `reason`; unsent entries
   * stay readable through `entries()` (for the snapshot).
   */
  halt(reason: Error): void {
    this.#running = false;
    this.#halted = true;
    for (const cancel of this.#retryTimers.values()) cancel();
    this.#retryTimers.clear();
    for (const queue of this.#queues.values()) {
      for (const entry of queue) {
        entry.settle?.reject(reason);
        entry.settle = undefined;
      }
    }
  }

  #removeReplaceable(channel: string, queue: OutboxEntry[], key: string): void {
    // The head may be in flight: leave it; any later queued entry with the key is not.
    const from = this.#busy.has(channel) ? 1 : 0;
    for (let i = queue.length - 1; i >= from; i--) {
      const entry = queue[i]!;
      if (entry.replaceKey !== key) continue;
      queue.splice(i, 1);
      this.#size--;
      // Replaced entries are never awaited (heartbeats), but settle anything that is.
      entry.settle?.resolve("0");
    }
  }

  #pump(channel: string): void {
    if (!this.#running || this.#busy.has(channel) || this.#retryTimers.has(channel)) return;
    const queue = this.#queues.get(channel);
    const entry = queue?.[0];
    if (entry === undefined) return;
    this.#busy.add(channel);
    if (entry.payload !== undefined) {
      this.#publish(entry);
      return;
    }
    let encoded: unknown;
    try {
      encoded = this.#hooks.encode(channel, entry.message);
    } catch (error) {
      this.#drop(entry, error);
      return;
    }
    if (encoded instanceof Promise) {
      this.#encoding++;
      encoded.then(
        (payload: unknown) => {
          entry.payload = payload;
          if (this.#running) this.#publish(entry);
          else this.#busy.delete(channel);
          this.#encoded();
        },
        (error: unknown) => {
          this.#drop(entry, error);
          this.#encoded();
        },
      );
      return;
    }
    entry.payload = encoded;
    this.#publish(entry);
  }

  #publish(entry: OutboxEntry): void {
    const options: PublishOptions = entry.store ? {} : { storeInHistory: false };
    let sent: Promise<{ readonly timetoken: Timetoken }>;
    try {
      sent = this.#transport.publish(entry.channel, entry.payload, options);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      ({ timetoken }) => {
        this.#busy.delete(entry.channel);
        if (!this.#removeHead(entry)) return;
        entry.settle?.resolve(timetoken);
        this.#hooks.published(entry, timetoken);
        this.#afterSettle(entry.channel);
      },
      (error: unknown) => {
        this.#busy.delete(entry.channel);
        if (error instanceof TransportError && !error.retryable) {
          if (error.code === "payload_too_large" || error.code === "invalid_argument") {
            this.#drop(entry, error);
            return;
          }
          if (error.code === "closed") {
            this.halt(error);
            this.#hooks.halted(error);
            return;
          }
        }
        if (!this.#running) return;
        const delayMs = backoffDelayMs(Math.min(entry.attempts, MAX_BACKOFF_ATTEMPT), {
          random: this.#random,
        });
        entry.attempts++;
        this.#hooks.retrying(entry, error, delayMs);
        this.#retryTimers.set(
          entry.channel,
          this.#scheduler.schedule(delayMs, () => {
            this.#retryTimers.delete(entry.channel);
            this.#pump(entry.channel);
          }),
        );
      },
    );
  }

  #drop(entry: OutboxEntry, error: unknown): void {
    this.#busy.delete(entry.channel);
    if (!this.#removeHead(entry)) return;
    entry.settle?.reject(error);
    this.#hooks.dropped(entry, error);
    this.#afterSettle(entry.channel);
  }

  /** Removes `entry` from the head of its queue; false if it is no longer there. */
  #removeHead(entry: OutboxEntry): boolean {
    const queue = this.#queues.get(entry.channel);
    if (queue === undefined || queue[0] !== entry) return false;
    queue.shift();
    this.#size--;
    if (queue.length === 0) this.#queues.delete(entry.channel);
    return true;
  }

  #afterSettle(channel: string): void {
    if (this.#size === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
    this.#pump(channel);
  }
}
