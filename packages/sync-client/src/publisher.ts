/**
 * What backend services use to publish (issue 5: `createPublisher({ transport, clock })`): user
 * notifications (spec 4.4), trending lists and announcements (2.1 global channels), regional
 * catalog updates (2.1 `region.{code}.updates`) and stream status (4.1 `platform.{id}.status`).
 *
 * Every message is stamped by the publisher's own HLC, validated exactly as a receiver will
 * validate it, checked against its channel (`channelAccepts`), and encrypted where configured
 * (default spec 12.3: `user.*.notifications` among them), so a service can never publish what
 * devices would refuse. Publishing is one call, not an outbox: a service has its own retry
 * policy, and a failed call rejects with the transport's typed error.
 */
import {
  type AnnouncementMessage,
  type Clock,
  channelAccepts,
  compileChannelPatterns,
  DEFAULT_ENCRYPTED_CHANNELS,
  encodeMessage,
  encryptPayload,
  GLOBAL_ANNOUNCEMENTS,
  GLOBAL_TRENDING,
  HLC_DEFAULT_MAX_DRIFT_MS,
  type Hlc,
  isHlc,
  type Message,
  parseMessage,
  platformStatusChannel,
  regionUpdatesChannel,
  type StreamStatusMessage,
  type Timetoken,
  type Transport,
  type TrendingUpdateMessage,
  type UserNotificationMessage,
  userNotificationsChannel,
  validateChannelPattern,
} from "@mg-sync/crdt-core";
import type { RegionUpdateMessage } from "./channels/feeds.js";
import { ClientClock } from "./client-clock.js";

/** A message as a service writes it: the publisher adds `timestamp`. */
export type Unstamped<M> = M extends unknown ? Omit<M, "timestamp"> : never;

export interface PublisherOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  /** The key for encrypted channels (the user's, for notifications). Without it nothing is encrypted. */
  readonly encryptionKey?: CryptoKey;
  /** Default spec 12.3's patterns, when a key is given. */
  readonly encryptedChannels?: readonly string[];
  readonly maxDriftMs?: number;
  /** The last timestamp this service issued before a restart (default 0). */
  readonly lastTimestamp?: Hlc;
}

export interface Published<M extends Message> {
  readonly timetoken: Timetoken;
  readonly message: M;
}

export interface Publisher {
  /** Stamps, validates, checks the channel, encrypts if configured, publishes. */
  publish<M extends Message & { readonly timestamp: number }>(
    channel: string,
    message: Unstamped<M>,
  ): Promise<Published<M>>;
  notify(
    userId: string,
    notification: Unstamped<Omit<UserNotificationMessage, "msg_type">>,
  ): Promise<Published<UserNotificationMessage>>;
  trending(
    update: Unstamped<Omit<TrendingUpdateMessage, "msg_type">>,
  ): Promise<Published<TrendingUpdateMessage>>;
  announce(
    announcement: Unstamped<Omit<AnnouncementMessage, "msg_type">>,
  ): Promise<Published<AnnouncementMessage>>;
  regionUpdate(update: Unstamped<RegionUpdateMessage>): Promise<Published<RegionUpdateMessage>>;
  platformStatus(
    status: Unstamped<Omit<StreamStatusMessage, "msg_type">>,
  ): Promise<Published<StreamStatusMessage>>;
  /** The publisher's HLC now (persist it as `lastTimestamp` across restarts). */
  lastTimestamp(): Hlc;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const { transport, clock, encryptionKey } = options;
  if (typeof transport?.publish !== "function") throw new TypeError("options.transport must be a Transport");
  if (typeof clock?.now !== "function") throw new TypeError("options.clock must have now()");
  const last = options.lastTimestamp ?? 0;
  if (!isHlc(last)) throw new RangeError("options.lastTimestamp must be an HLC timestamp");
  const patterns =
    encryptionKey === undefined ? [] : (options.encryptedChannels ?? DEFAULT_ENCRYPTED_CHANNELS);
  patterns.forEach((pattern, i) => {
    const checked = validateChannelPattern(pattern);
    if (!checked.ok) throw new RangeError(`options.encryptedChannels[${i}] ${checked.error.reason}`);
  });
  const encrypted = compileChannelPatterns(patterns);
  const hlc = new ClientClock(clock, options.maxDriftMs ?? HLC_DEFAULT_MAX_DRIFT_MS, last);

  async function publish<M extends Message & { readonly timestamp: number }>(
    channel: string,
    message: Unstamped<M>,
  ): Promise<Published<M>> {
    const parsed = parseMessage({ ...message, timestamp: hlc.tick() });
    if (!parsed.ok) {
      const { path, reason } = parsed.error;
      throw new RangeError(`publish: ${path === "" ? "" : `${path} `}${reason}`);
    }
    const checked = parsed.value as M;
    if (!channelAccepts(channel, checked.msg_type)) {
      throw new RangeError(`publish: ${channel} does not carry ${checked.msg_type}`);
    }
    const payload =
      encryptionKey !== undefined && encrypted(channel)
        ? { enc: await encryptPayload(encryptionKey, encodeMessage(checked), channel) }
        : checked;
    const { timetoken } = await transport.publish(channel, payload);
    return { timetoken, message: checked };
  }

  return {
    publish,
    notify: (userId, notification) =>
      publish<UserNotificationMessage>(userNotificationsChannel(userId), {
        msg_type: "user_notification",
        ...notification,
      }),
    trending: (update) =>
      publish<TrendingUpdateMessage>(GLOBAL_TRENDING, { msg_type: "trending_update", ...update }),
    announce: (announcement) =>
      publish<AnnouncementMessage>(GLOBAL_ANNOUNCEMENTS, { msg_type: "announcement", ...announcement }),
    regionUpdate: (update) => publish<RegionUpdateMessage>(regionUpdatesChannel(update.region), update),
    platformStatus: (status) =>
      publish<StreamStatusMessage>(platformStatusChannel(status.platform_id), {
        msg_type: "stream_status",
        ...status,
      }),
    lastTimestamp: () => hlc.peek(),
  };
}
