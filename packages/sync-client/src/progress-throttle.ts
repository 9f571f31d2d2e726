/**
 * Watch-progress publishing, throttled per title (spec 5.2 "progress updates published every
 * 10 seconds", 5.3 "batch progress updates (max 10 s interval)").
 *
 * At most one message per title per `intervalMs` while playing: the first update goes at once
 * (leading edge), later ones within the interval wait and only the latest is sent when the
 * interval ends (trailing edge), so peers always end up with the newest position. A Paused or
 * Stopped update is sent at once (a handoff, spec 5.2 step 7, must not wait 10 s), and so is
 * everything pending on `flushAll()` (the client's `stop()`). The local state is updated by the
 * caller before `submit`: throttling only delays what peers see.
 */
import type { CancelTimer, Scheduler, WatchProgressUpdateMessage } from "@mg-sync/crdt-core";

interface TitleThrottle {
  /** Wall ms of the last send. */
  lastSentMs: number;
  pending: WatchProgressUpdateMessage | undefined;
  cancel: CancelTimer | undefined;
}

/** Titles whose last send is this many intervals old are forgotten (keeps the map small). */
const FORGET_AFTER_INTERVALS = 2;
const PRUNE_ABOVE = 64;

export class ProgressThrottle {
  readonly #intervalMs: number;
  readonly #scheduler: Scheduler;
  readonly #now: () => number;
  readonly #send: (message: WatchProgressUpdateMessage) => void;
  readonly #titles = new Map<string, TitleThrottle>();

  constructor(
    intervalMs: number,
    scheduler: Scheduler,
    now: () => number,
    send: (message: WatchProgressUpdateMessage) => void,
  ) {
    this.#intervalMs = intervalMs;
    this.#scheduler = scheduler;
    this.#now = now;
    this.#send = send;
  }

  /** Messages waiting for their title's interval to end. */
  pending(): WatchProgressUpdateMessage[] {
    const out: WatchProgressUpdateMessage[] = [];
    for (const title of this.#titles.values()) if (title.pending !== undefined) out.push(title.pending);
    return out;
  }

  submit(message: WatchProgressUpdateMessage): void {
    const now = this.#now();
    const title = this.#titles.get(message.content_id);
    if (title === undefined) {
      if (this.#titles.size > PRUNE_ABOVE) this.#prune(now);
      this.#titles.set(message.content_id, { lastSentMs: now, pending: undefined, cancel: undefined });
      this.#send(message);
      return;
    }
    if (message.state !== "Playing") {
      title.cancel?.();
      title.cancel = undefined;
      title.pending = undefined;
      this.#sendNow(title, message, now);
      return;
    }
    if (title.cancel !== undefined) {
      title.pending = message;
      return;
    }
    const elapsed = now - title.lastSentMs;
    if (elapsed >= this.#intervalMs) {
      this.#sendNow(title, message, now);
      return;
    }
    title.pending = message;
    // A wall clock that went backwards (elapsed < 0) waits one whole interval, never longer.
    const wait = elapsed < 0 ? this.#intervalMs : this.#intervalMs - elapsed;
    title.cancel = this.#scheduler.schedule(wait, () => {
      title.cancel = undefined;
      const latest = title.pending;
      title.pending = undefined;
      if (latest !== undefined) this.#sendNow(title, latest, this.#now());
    });
  }

  /** Sends every pending message now. */
  flushAll(): void {
    const now = this.#now();
    for (const title of this.#titles.values()) {
      title.cancel?.();
      title.cancel = undefined;
      const latest = title.pending;
      title.pending = undefined;
      if (latest !== undefined) this.#sendNow(title, latest, now);
    }
  }

  /** Cancels every timer (the client stopped); pending messages stay readable for the snapshot. */
  cancelAll(): void {
    for (const title of this.#titles.values()) {
      title.cancel?.();
      title.cancel = undefined;
    }
  }

  #sendNow(title: TitleThrottle, message: WatchProgressUpdateMessage, now: number): void {
    title.lastSentMs = now;
    this.#send(message);
  }

  #prune(now: number): void {
    for (const [contentId, title] of this.#titles) {
      if (
        title.pending === undefined &&
        title.cancel === undefined &&
        now - title.lastSentMs >= FORGET_AFTER_INTERVALS * this.#intervalMs
      ) {
        this.#titles.delete(contentId);
      }
    }
  }
}
