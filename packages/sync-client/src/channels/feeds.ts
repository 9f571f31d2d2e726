/**
 * Typed subscriptions to the channels beyond the user's sync state (spec 2.1, 4.1, 4.3, 4.4):
 * `global.trending`, `global.announcements`, `region.{code}.updates`, `platform.{id}.status`,
 * `party.{id}`, and the user's notifications. Messages arrive through the client's one inbound
 * path (decrypt, validate, `channelAccepts`, HLC receive), so a listener only ever sees messages
 * that validate for its channel; this module subscribes the transport while a channel has
 * listeners and applies docs/protocol.md §1.6 before delivering:
 *
 * - state-like broadcasts keep the newest per key and ignore an older or equal one: a trending
 *   list per region, a platform's stream status;
 * - messages that cause an action are delivered once per id (`notification_id`,
 *   `announcement_id`);
 * - everything else (region updates, party chat) is delivered once per exact content, so an
 *   at-least-once duplicate never shows twice.
 */
import type {
  ContentAvailableMessage,
  ContentLeavingMessage,
  Message,
  PricingUpdateMessage,
  Transport,
} from "@mg-sync/crdt-core";

/** What `region.{code}.updates` carries (spec 2.1). */
export type RegionUpdateMessage = ContentAvailableMessage | ContentLeavingMessage | PricingUpdateMessage;

/** Where a delivered message came from. */
export interface FeedMeta {
  readonly channel: string;
  readonly timetoken: string;
  /** Fetched from history when the subscription started, rather than live. */
  readonly fromHistory: boolean;
}

export type FeedListener<M extends Message> = (message: M, meta: FeedMeta) => void;

/** Ids and contents remembered per channel for dedup. */
const REMEMBERED_PER_CHANNEL = 512;

interface ChannelFeed {
  readonly listeners: Set<FeedListener<Message>>;
  /** Dedup keys already delivered, insertion-ordered (oldest forgotten first). */
  readonly seen: Set<string>;
  /** Newest timestamp per key for state-like broadcasts. */
  readonly newest: Map<string, number>;
  /** Whether this module subscribed the transport (the user's own channels are always on). */
  readonly owned: boolean;
  subscribing: Promise<void> | undefined;
}

/** How a message is deduplicated: `{ newest: key }` (state-like) or `{ once: key }`. */
function dedupOf(message: Message): { readonly newest: string } | { readonly once: string } {
  switch (message.msg_type) {
    case "trending_update":
      return { newest: `trending:${message.region ?? ""}` };
    case "stream_status":
      return { newest: `status:${message.platform_id}` };
    case "user_notification":
      return { once: `notification:${message.notification_id}` };
    case "announcement":
      return { once: `announcement:${message.announcement_id}` };
    default:
      // The validated message is rebuilt in schema order, so equal content is equal text.
      return { once: JSON.stringify(message) };
  }
}

export class Feeds {
  readonly #transport: Transport;
  readonly #channels = new Map<string, ChannelFeed>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(transport: Transport, onListenerError: (error: unknown) => void) {
    this.#transport = transport;
    this.#onListenerError = onListenerError;
  }

  /** Channels this module subscribed the transport to. */
  ownedChannels(): string[] {
    return [...this.#channels].filter(([, feed]) => feed.owned).map(([channel]) => channel);
  }

  has(channel: string): boolean {
    return this.#channels.has(channel);
  }

  /**
   * Adds a listener; subscribes the transport to `channel` when it is the first (unless
   * `alwaysSubscribed`: the client's own channels). Resolves once the subscription is live.
   */
  async add<M extends Message>(
    channel: string,
    listener: FeedListener<M>,
    options: { readonly alwaysSubscribed?: boolean; readonly withPresence?: boolean } = {},
  ): Promise<() => Promise<void>> {
    let feed = this.#channels.get(channel);
    if (feed === undefined) {
      feed = {
        listeners: new Set(),
        seen: new Set(),
        newest: new Map(),
        owned: options.alwaysSubscribed !== true,
        subscribing: undefined,
      };
      this.#channels.set(channel, feed);
      if (feed.owned) {
        feed.subscribing = this.#transport.subscribe({
          channels: [channel],
          ...(options.withPresence === true ? { withPresence: true } : {}),
        });
      }
    }
    const stored = listener as FeedListener<Message>;
    feed.listeners.add(stored);
    try {
      await feed.subscribing;
    } catch (error) {
      feed.listeners.delete(stored);
      if (feed.listeners.size === 0 && this.#channels.get(channel) === feed) this.#channels.delete(channel);
      throw error;
    }
    const current = feed;
    return async () => {
      if (!current.listeners.delete(stored) || current.listeners.size > 0) return;
      if (this.#channels.get(channel) !== current) return;
      this.#channels.delete(channel);
      if (current.owned) await this.#transport.unsubscribe({ channels: [channel] });
    };
  }

  /** Delivers a validated message to `channel`'s listeners unless it is a duplicate or stale. */
  deliver(message: Message, meta: FeedMeta): void {
    const feed = this.#channels.get(meta.channel);
    if (feed === undefined || feed.listeners.size === 0) return;
    const dedup = dedupOf(message);
    if ("newest" in dedup) {
      const timestamp = "timestamp" in message ? message.timestamp : 0;
      const newest = feed.newest.get(dedup.newest);
      if (newest !== undefined && timestamp <= newest) return;
      feed.newest.set(dedup.newest, timestamp);
    } else {
      if (feed.seen.has(dedup.once)) return;
      feed.seen.add(dedup.once);
      if (feed.seen.size > REMEMBERED_PER_CHANNEL) {
        const oldest = feed.seen.values().next().value;
        if (oldest !== undefined) feed.seen.delete(oldest);
      }
    }
    for (const listener of [...feed.listeners]) {
      try {
        listener(message, meta);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  clear(): void {
    this.#channels.clear();
  }
}
