/**
 * @mg-sync/crdt-core: the pure core of mg-sync. Hybrid Logical Clock, LWW register and map,
 * causal add-wins OR-Set, every wire message with its validator, the user sync state and its
 * one merge path, channels, presence, remote commands, backoff, and WebCrypto encryption.
 * No runtime dependencies, no I/O, no `node:` imports.
 */

export {
  type BackoffOptions,
  backoffDelayMs,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
} from "./backoff.js";
export {
  type CausalContext,
  type CausalContextJSON,
  ccAddInto,
  ccAddRangeInto,
  ccClone,
  ccEmpty,
  ccEquals,
  ccForEachDot,
  ccFromJSON,
  ccHas,
  ccJoin,
  ccJoinInto,
  ccMax,
  ccNextDot,
  ccRanges,
  ccSize,
  ccToJSON,
  type Dot,
} from "./causal-context.js";
export * from "./channels.js";
export {
  type CommandDedupWindow,
  type CommandRejection,
  type CommandTarget,
  type CommandVerdict,
  commandDedupAdd,
  commandDedupEmpty,
  commandDedupHas,
  DEFAULT_COMMAND_DEDUP_CAPACITY,
  validateCommand,
} from "./commands.js";
export * from "./crypto.js";
export {
  ClockDriftError,
  HLC_COUNTER_MAX,
  HLC_DEFAULT_MAX_DRIFT_MS,
  HLC_MAX,
  HLC_MAX_WALL_MS,
  HLC_STRING_LENGTH,
  type Hlc,
  type HlcReceiveOptions,
  hlcCompare,
  hlcCounter,
  hlcDecode,
  hlcEncode,
  hlcLagMs,
  hlcParse,
  hlcReceive,
  hlcTick,
  hlcToString,
  hlcWallMs,
  isHlc,
} from "./hlc.js";
export { HybridLogicalClock, type HybridLogicalClockOptions } from "./hybrid-logical-clock.js";
export {
  type LwwRegister,
  type LwwRegisterJson,
  type LwwStamp,
  lwwCompare,
  lwwEquals,
  lwwFromJSON,
  lwwMerge,
  lwwRegister,
  lwwRegisterCheck,
  lwwToJSON,
  lwwValueCompare,
  lwwValueEquals,
} from "./lww.js";
export {
  type LwwMap,
  type LwwMapCheckRules,
  type LwwMapDeletion,
  type LwwMapEntry,
  type LwwMapEntryJson,
  type LwwMapJson,
  type LwwMapLive,
  type LwwMapUpdate,
  lwwMapCheck,
  lwwMapDelete,
  lwwMapDeleteDelta,
  lwwMapEmpty,
  lwwMapEntries,
  lwwMapEquals,
  lwwMapFromJSON,
  lwwMapGet,
  lwwMapJoin,
  lwwMapJoinInto,
  lwwMapKeys,
  lwwMapSet,
  lwwMapSetDelta,
  lwwMapToJSON,
  type MutableLwwMap,
} from "./lww-map.js";
export * from "./messages/broadcast.js";
export * from "./messages/commands.js";
export * from "./messages/common.js";
export * from "./messages/devices.js";
export {
  decodeMessage,
  encodedByteLength,
  encodeMessage,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  parseMessage,
} from "./messages/index.js";
export * from "./messages/notifications.js";
export * from "./messages/presence.js";
export * from "./messages/reconciliation.js";
export * from "./messages/sync.js";
export {
  DoubleSpentDotError,
  type OrSet,
  type OrSetChange,
  type OrSetDot,
  type OrSetJSON,
  orSetAdd,
  orSetAddDelta,
  orSetClone,
  orSetDots,
  orSetEmpty,
  orSetEquals,
  orSetFromJSON,
  orSetHas,
  orSetJoin,
  orSetJoinInto,
  orSetMetadataSize,
  orSetPayload,
  orSetRemove,
  orSetRemoveDelta,
  orSetSize,
  orSetToJSON,
  orSetValues,
} from "./or-set.js";
export {
  type DeviceView,
  MISSED_HEARTBEATS_BEFORE_OFFLINE,
  type PresenceInput,
  type PresenceSetState,
  type PresenceTracker,
  type PresenceUpdate,
  presenceApply,
  presenceEmpty,
  presenceTick,
} from "./presence.js";
export { type Invalid, invalid, ok, type Result } from "./result.js";
export type { CancelTimer, Clock, Random, Scheduler } from "./runtime.js";
export { type Check, formatPath, type PathSegment, parseWith, ValidationError } from "./schema.js";
export { type StateToChunksOptions, stateToChunks } from "./state-chunks.js";
export { syncStateIsEmpty, syncStateMissingFrom } from "./state-diff.js";
export {
  applyMessage,
  applyMessageInto,
  checkWatchlistItem,
  checkWatchProgress,
  mergeStates,
  type ProgressInput,
  preferenceMessage,
  preferenceOf,
  progressOf,
  type SyncChange,
  syncStateClone,
  syncStateEmpty,
  syncStateEquals,
  syncStateFromJSON,
  syncStateToJSON,
  type UserSyncState,
  type UserSyncStateJSON,
  type WatchlistChangeInput,
  type WatchlistItem,
  type WatchProgress,
  watchlistAddMessage,
  watchlistItem,
  watchlistRemoveMessage,
  watchlistValues,
  watchProgressMessage,
} from "./sync-state.js";
export {
  type HeartbeatOptions,
  type HereNowOccupant,
  type HereNowResult,
  type HistoryOptions,
  type HistoryResult,
  isTimetoken,
  type PresenceAction as TransportPresenceAction,
  type PublishOptions,
  type SubscribeOptions,
  type Timetoken,
  type Transport,
  TransportError,
  type TransportErrorCode,
  type TransportListener,
  type TransportMessage,
  type TransportOperation,
  type TransportPresenceEvent,
  type TransportStatus,
  timetokenCompare,
  timetokenFromMs,
  timetokenToMs,
} from "./transport.js";
