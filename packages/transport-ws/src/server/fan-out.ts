/**
 * How a published message or presence event reaches every hub process's subscribers. An
 * interface so that several hubs can share channels through Redis pub/sub later
 * (ARCHITECTURE.md); `LocalFanOut` is the in-process one.
 *
 * Contract: items published on one channel reach each listener in the order `publish` was
 * called (the hub calls it in timetoken order, one channel at a time), and a listener added
 * before `publish` was called receives the item.
 */
import type { HubMessage } from "./history-store.js";
import type { PresenceChange } from "./presence-table.js";

export type FanOutItem =
  | { readonly kind: "message"; readonly message: HubMessage }
  | { readonly kind: "presence"; readonly change: PresenceChange };

export type FanOutListener = (item: FanOutItem) => void;

export interface FanOut {
  /** Delivers `item` to every listener of `topic` (a channel, or `<channel>-pnpres` for presence). */
  publish(topic: string, item: FanOutItem): Promise<void>;
  /** Adds a listener; returns the function that removes it. */
  listen(topic: string, listener: FanOutListener): () => void;
}

export class LocalFanOut implements FanOut {
  readonly #listeners = new Map<string, Set<FanOutListener>>();

  async publish(topic: string, item: FanOutItem): Promise<void> {
    const listeners = this.#listeners.get(topic);
    if (listeners === undefined) return;
    for (const listener of listeners) listener(item);
  }

  listen(topic: string, listener: FanOutListener): () => void {
    let listeners = this.#listeners.get(topic);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(topic, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.#listeners.get(topic);
      if (current === undefined) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(topic);
    };
  }

  /** Topics with at least one listener (for tests and metrics). */
  get topics(): number {
    return this.#listeners.size;
  }
}
