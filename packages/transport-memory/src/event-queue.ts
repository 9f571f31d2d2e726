/**
 * The virtual-time agenda: every pending event of a simulated network, fired in (time, order of
 * scheduling) order, so two events due at the same instant always run in the same order and a
 * seed replays exactly.
 *
 * Events have a kind because "quiet" (`MemoryNetwork.runUntilQuiet`) must not wait for all of
 * them: `work` is the network moving something (a request, a response, a delivery), `timer` is
 * an application timer (a heartbeat loop never ends), and `presence` is a presence timeout, which
 * is a future possibility rather than something in flight.
 */

export type EventKind = "work" | "timer" | "presence";

export interface ScheduledEvent {
  readonly time: number;
  readonly seq: number;
  readonly kind: EventKind;
  readonly run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private readonly heap: ScheduledEvent[] = [];
  private nextSeq = 0;
  private workCount = 0;

  /** Events of kind `work` scheduled and not yet run or cancelled. */
  get work(): number {
    return this.workCount;
  }

  push(time: number, kind: EventKind, run: () => void): ScheduledEvent {
    const event: ScheduledEvent = { time, seq: this.nextSeq++, kind, run, cancelled: false };
    if (kind === "work") this.workCount++;
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (!before(event, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = event;
    return event;
  }

  /** Cancels an event that has not run; a no-op otherwise. */
  cancel(event: ScheduledEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    if (event.kind === "work") this.workCount--;
  }

  /** The next event to run, without removing it. */
  peek(): ScheduledEvent | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  /** Removes and returns the next event; it counts as run, no longer pending. */
  pop(): ScheduledEvent | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    // Marked so a late `cancel` of an event that already ran does not miscount `work`.
    top.cancelled = true;
    if (top.kind === "work") this.workCount--;
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop();
  }

  private removeTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    const length = heap.length;
    if (length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
