/**
 * @mg-sync/sync-client: the device runtime of mg-sync. One `createSyncClient` per device: local
 * state with optimistic updates, an ordered retrying outbox, one merge path for live, history and
 * reconciliation messages, presence, remote commands and snapshots, over any `Transport`.
 * Depends on `@mg-sync/crdt-core` only; no `node:` imports (it runs in browsers).
 */

export { HISTORY_PAGE_SIZE, MAX_HISTORY_PAGES } from "./catch-up.js";
export type { FeedListener, FeedMeta, RegionUpdateMessage } from "./channels/feeds.js";
export type { JoinPartyOptions, WatchParty } from "./channels/watch-party.js";
export { INBOUND_REJECTIONS, type InboundRejection } from "./inbound.js";
export { INCARNATION_SEPARATOR, INCARNATION_SUFFIX_LENGTH, newIncarnationId } from "./incarnation.js";
export { type DeviceStatus, MAX_DEVICE_ID_LENGTH, type SyncClientOptions } from "./options.js";
export {
  createPublisher,
  type Published,
  type Publisher,
  type PublisherOptions,
  type Unstamped,
} from "./publisher.js";
export { chunkBudgetBytes, DEFAULT_RECONCILIATION_DELAY_MS, type DelayRange } from "./reconciliation.js";
export {
  parseSyncClientSnapshot,
  SNAPSHOT_VERSION,
  SnapshotError,
  type SyncClientSnapshot,
} from "./snapshot.js";
export { createSyncClient } from "./sync-client.js";
export {
  type ChangeOrigin,
  type CommandHandler,
  CommandRejectedError,
  type FeedOptions,
  type FeedsApi,
  type PreferencesApi,
  type ProgressApi,
  type SendCommandOptions,
  type SyncClient,
  type SyncClientEvents,
  type SyncClientPhase,
  type SyncClientStats,
  SyncClientStoppedError,
  type Unsubscribe,
  type WatchlistApi,
} from "./sync-client-api.js";
export { systemClock, systemRandom, systemScheduler } from "./system-runtime.js";
