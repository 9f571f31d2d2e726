/**
 * A FIFO stream over a lossy, jittery link: items are sent in order, each arrives after its own
 * random delay (or is lost and resent), and an item is handed over only once it and every item
 * sent before it have arrived, as TCP does. This is how the simulated network keeps FIFO per
 * publisher per channel while reordering everything else.
 */

interface Slot<T> {
  readonly value: T;
  arrived: boolean;
}

export type LinkSlot<T> = Readonly<Slot<T>>;

export class OrderedLink<T> {
  private slots: Slot<T>[] = [];
  private head = 0;

  /** Items sent and not yet handed over. */
  get pending(): number {
    return this.slots.length - this.head;
  }

  enqueue(value: T): LinkSlot<T> {
    const slot: Slot<T> = { value, arrived: false };
    this.slots.push(slot);
    return slot;
  }

  /** Marks `slot` arrived; returns the items that can now be handed over, in order. */
  arrive(slot: LinkSlot<T>): T[] {
    (slot as Slot<T>).arrived = true;
    const ready: T[] = [];
    while (this.head < this.slots.length && this.slots[this.head]!.arrived) {
      ready.push(this.slots[this.head]!.value);
      this.head++;
    }
    if (this.head === this.slots.length) {
      this.slots = [];
      this.head = 0;
    }
    return ready;
  }

  /** Removes and returns every item not handed over yet (the link went down). */
  drain(): T[] {
    const rest = this.slots.slice(this.head).map((slot) => slot.value);
    this.slots = [];
    this.head = 0;
    return rest;
  }
}
