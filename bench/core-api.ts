/**
 * The one place the benchmarks import @mg-sync/crdt-core from, so every workload measures the
 * same build: the package's `dist/`, what users install (the root `bench` scripts build it
 * first).
 */
export {
  applyMessageInto,
  type ContentSnippet,
  type DeviceCapabilities,
  decodeMessage,
  encodedByteLength,
  encodeMessage,
  type Hlc,
  hlcReceive,
  hlcTick,
  type Message,
  mergeStates,
  type SyncChange,
  stateToChunks,
  syncStateEmpty,
  syncStateEquals,
  syncStateToJSON,
  type Transport,
  type UserSyncState,
  type WatchlistUpdateMessage,
  type WatchProgressUpdateMessage,
  watchlistAddMessage,
  watchlistRemoveMessage,
  watchlistValues,
  watchProgressMessage,
} from "@mg-sync/crdt-core";
