/**
 * `client.feeds`: the typed subscriptions (channels/feeds.ts), each after the same checks, with an
 * optional replay of the channel's newest history through the client's inbound path.
 */
import {
  GLOBAL_ANNOUNCEMENTS,
  GLOBAL_TRENDING,
  type Message,
  platformStatusChannel,
  regionUpdatesChannel,
} from "@mg-sync/crdt-core";
import { HISTORY_PAGE_SIZE } from "./catch-up.js";
import type { FeedListener, Feeds } from "./channels/feeds.js";
import type { FeedOptions, FeedsApi, Unsubscribe } from "./sync-client-api.js";

/** What the feeds API needs from its client. */
export interface FeedsApiHost {
  readonly feeds: Pick<Feeds, "add">;
  readonly notificationsChannel: string;
  /** The client's `region` option. */
  readonly region: string | undefined;
  isLive(): boolean;
  /** Feeds the newest `count` messages of the channel's history through the inbound path. */
  replayHistory(channel: string, count: number): Promise<void>;
}

export function createFeedsApi(host: FeedsApiHost): FeedsApi {
  return {
    notifications: (listener, options) => subscribe(host, host.notificationsChannel, listener, options, true),
    trending: (listener, options) => subscribe(host, GLOBAL_TRENDING, listener, options),
    announcements: (listener, options) => subscribe(host, GLOBAL_ANNOUNCEMENTS, listener, options),
    region: (listener, options) => {
      const region = options?.region ?? host.region;
      if (region === undefined) {
        return Promise.reject(
          new TypeError("feeds.region: pass options.region or create the client with one"),
        );
      }
      return subscribe(host, regionUpdatesChannel(region), listener, options);
    },
    platformStatus: (platformId, listener, options) =>
      subscribe(host, platformStatusChannel(platformId), listener, options),
  };
}

async function subscribe<M extends Message>(
  host: FeedsApiHost,
  channel: string,
  listener: FeedListener<M>,
  options: FeedOptions | undefined,
  alwaysSubscribed = false,
): Promise<Unsubscribe> {
  if (!host.isLive()) throw new Error("feeds: subscribe after start() and before stop()");
  if (typeof listener !== "function") throw new TypeError("feeds: listener must be a function");
  const history = options?.history ?? 0;
  if (!Number.isSafeInteger(history) || history < 0 || history > HISTORY_PAGE_SIZE) {
    throw new RangeError(`feeds: options.history must be an integer in 0..${HISTORY_PAGE_SIZE}`);
  }
  const unsubscribe = await host.feeds.add(channel, listener, { alwaysSubscribed });
  if (history > 0) await host.replayHistory(channel, history);
  return unsubscribe;
}
