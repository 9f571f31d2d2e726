/**
 * `client.watchlist`, `client.progress` and `client.preferences`: reads straight from the local
 * state, and local changes built as messages with crdt-core's builders (stamped by our HLC),
 * checked as a peer will check them, merged at once (optimistic, spec 5.1 step 1) and published
 * through the outbox; progress goes through the per-title throttle first (spec 5.2).
 */
import {
  type ContentSnippet,
  type DeviceType,
  type Hlc,
  lwwMapEntries,
  type PlaybackState,
  preferenceMessage,
  preferenceOf,
  progressOf,
  type SyncMessage,
  type UserSyncState,
  watchlistAddMessage,
  watchlistItem,
  watchlistRemoveMessage,
  watchlistValues,
  watchProgressMessage,
} from "@mg-sync/crdt-core";
import { checkOutgoing } from "./check-outgoing.js";
import type { ClientCounters } from "./client-counters.js";
import type { HeartbeatLoop } from "./heartbeat.js";
import type { ProgressThrottle } from "./progress-throttle.js";
import type { PreferencesApi, ProgressApi, WatchlistApi } from "./sync-client-api.js";

/** What the state APIs need from their client. */
export interface StateApisHost {
  readonly deviceId: string;
  /** The replica our watchlist adds are made under. */
  readonly incarnation: string;
  readonly deviceType: DeviceType;
  /** The client's state (merged into in place, never replaced). */
  readonly state: UserSyncState;
  readonly throttle: Pick<ProgressThrottle, "submit">;
  /** Progress updates tell presence what the player is doing. */
  readonly heartbeat: Pick<HeartbeatLoop, "setPlayback">;
  readonly count: Pick<ClientCounters, "progressUpdates">;
  tick(): Hlc;
  /** Throws `SyncClientStoppedError` once the client is stopping. */
  requireWritable(what: string): void;
  /** Merges a change of ours into the state (the app hears it as a local change). */
  applyLocal(message: SyncMessage): void;
  /** Queues a change in the outbox, on the user's sync channel. */
  publish(message: SyncMessage): void;
}

export interface StateApis {
  readonly watchlist: WatchlistApi;
  readonly progress: ProgressApi;
  readonly preferences: PreferencesApi;
}

export function createStateApis(host: StateApisHost): StateApis {
  const state = host.state;
  return {
    watchlist: {
      add: (contentId, snippet) => watchlistAdd(host, contentId, snippet),
      remove: (contentId) => watchlistRemove(host, contentId),
      has: (contentId) => state.watchlist.entries.has(contentId),
      values: () => watchlistValues(state),
      item: (contentId) => watchlistItem(state, contentId),
    },
    progress: {
      update: (contentId, positionSec, durationSec, playback) =>
        progressUpdate(host, contentId, positionSec, durationSec, playback),
      get: (contentId) => progressOf(state, contentId),
      entries: () => lwwMapEntries(state.progress),
    },
    preferences: {
      set: (key, value) => preferenceSet(host, key, value),
      get: (key) => preferenceOf(state, key),
      reset: (key) => preferenceSet(host, key, null),
    },
  };
}

function watchlistAdd(host: StateApisHost, contentId: string, snippet: ContentSnippet | undefined): void {
  host.requireWritable("watchlist.add");
  const built = watchlistAddMessage(host.state, {
    content_id: contentId,
    device_id: host.deviceId,
    timestamp: host.tick(),
    replica: host.incarnation,
    ...(snippet === undefined ? {} : { content_metadata: snippet }),
  });
  const message = checkOutgoing("watchlist.add", built);
  host.applyLocal(message);
  host.publish(message);
}

function watchlistRemove(host: StateApisHost, contentId: string): boolean {
  host.requireWritable("watchlist.remove");
  if (!host.state.watchlist.entries.has(contentId)) return false;
  const built = watchlistRemoveMessage(host.state, {
    content_id: contentId,
    device_id: host.deviceId,
    timestamp: host.tick(),
  });
  const message = checkOutgoing("watchlist.remove", built);
  host.applyLocal(message);
  host.publish(message);
  return true;
}

function progressUpdate(
  host: StateApisHost,
  contentId: string,
  positionSec: number,
  durationSec: number,
  state: PlaybackState,
): void {
  host.requireWritable("progress.update");
  const duration = wholeSeconds("progress.update: durationSec", durationSec);
  let position = wholeSeconds("progress.update: positionSec", positionSec);
  // A player may report a position a rounding past the end; peers would reject it (3.1 check).
  if (duration > 0 && position > duration) position = duration;
  const built = watchProgressMessage({
    content_id: contentId,
    progress_seconds: position,
    duration_seconds: duration,
    state,
    device_id: host.deviceId,
    device_type: host.deviceType,
    timestamp: host.tick(),
  });
  const message = checkOutgoing("progress.update", built);
  host.applyLocal(message);
  host.count.progressUpdates++;
  host.throttle.submit(message);
  host.heartbeat.setPlayback(
    state === "Playing"
      ? { Watching: { content_id: message.content_id } }
      : state === "Paused"
        ? { Paused: { content_id: message.content_id } }
        : "Browsing",
  );
}

function preferenceSet(host: StateApisHost, key: string, value: unknown): void {
  host.requireWritable("preferences.set");
  if (value === undefined) throw new TypeError("preferences.set: value must be a JSON value (null resets)");
  const built = preferenceMessage({ key, value, device_id: host.deviceId, timestamp: host.tick() });
  const message = checkOutgoing("preferences.set", built);
  host.applyLocal(message);
  host.publish(message);
}

function wholeSeconds(what: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite non-negative number of seconds, got ${String(value)}`);
  }
  return Math.floor(value);
}
