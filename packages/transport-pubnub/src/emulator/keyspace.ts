/**
 * Everything one subscribe key owns: stored messages, the subscribe feed, channel groups,
 * presence, revoked tokens. Endpoint modules read and change it; it turns presence changes
 * into `<channel>-pnpres` envelopes.
 */
import { type ChannelRetention, PRESENCE_SUFFIX } from "@mg-sync/crdt-core";
import { MessageStore } from "./message-store.js";
import { type PresenceEventPayload, type PresenceLimits, PresenceRegistry } from "./presence-registry.js";
import { type Envelope, type FeedLimits, SubscribeFeed, type SubscriptionMap } from "./subscribe-feed.js";
import type { TimetokenClock } from "./timetoken-clock.js";

export interface KeysetConfig {
  readonly subscribeKey: string;
  /** `undefined` when the emulator accepts any keys: then any publish key goes. */
  readonly publishKey: string | undefined;
  readonly secretKey: string | undefined;
  readonly accessManager: boolean;
}

export interface KeySpaceSettings {
  readonly retention: (channel: string) => ChannelRetention;
  readonly feed: FeedLimits;
  readonly presence: PresenceLimits;
}

export class KeySpace {
  readonly config: KeysetConfig;
  readonly messages: MessageStore;
  readonly feed: SubscribeFeed;
  readonly presence: PresenceRegistry;
  /** Channel groups: name → member channels (insertion order kept, as PubNub lists them). */
  readonly groups = new Map<string, Set<string>>();
  readonly revokedTokens = new Set<string>();
  readonly #clock: TimetokenClock;

  constructor(config: KeysetConfig, settings: KeySpaceSettings, clock: TimetokenClock, now: () => number) {
    this.config = config;
    this.#clock = clock;
    this.messages = new MessageStore(settings.retention, now);
    this.feed = new SubscribeFeed(settings.feed, now);
    this.presence = new PresenceRegistry(settings.presence, now, (channel, payload) =>
      this.#emitPresence(channel, payload),
    );
  }

  nextTimetoken(): bigint {
    return this.#clock.next();
  }

  #emitPresence(channel: string, payload: PresenceEventPayload): void {
    const timetoken = this.#clock.next();
    const envelope: Envelope = {
      a: "1",
      f: 0,
      p: { t: timetoken.toString(), r: 1 },
      k: this.config.subscribeKey,
      c: `${channel}${PRESENCE_SUFFIX}`,
      d: payload,
    };
    this.feed.append(timetoken, envelope);
  }

  /** Channels of a group; empty for a group that does not exist. */
  groupMembers(group: string): string[] {
    return [...(this.groups.get(group) ?? [])];
  }

  /**
   * A subscribe request's channel map: each deliverable channel → the `b` the SDK expects
   * (research §5.4: the group's name for group delivery, `<group>-pnpres` for its presence).
   * A channel named directly wins over the same channel reached through a group.
   */
  subscriptionMap(channels: readonly string[], groups: readonly string[]): SubscriptionMap {
    const map = new Map<string, string>();
    for (const group of groups) {
      const presence = group.endsWith(PRESENCE_SUFFIX);
      const base = presence ? group.slice(0, -PRESENCE_SUFFIX.length) : group;
      for (const member of this.groupMembers(base)) {
        const channel = presence ? `${member}${PRESENCE_SUFFIX}` : member;
        if (!map.has(channel)) map.set(channel, group);
      }
    }
    for (const channel of channels) map.set(channel, channel);
    return map;
  }

  /** The data channels a subscribe or heartbeat makes its client present on (no `-pnpres`). */
  presenceChannels(channels: readonly string[], groups: readonly string[]): string[] {
    const out = new Set<string>();
    for (const channel of channels) if (!channel.endsWith(PRESENCE_SUFFIX)) out.add(channel);
    for (const group of groups)
      if (!group.endsWith(PRESENCE_SUFFIX)) for (const member of this.groupMembers(group)) out.add(member);
    return [...out];
  }
}
