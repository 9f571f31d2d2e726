/**
 * `@mg-sync/transport-ws/server`: the WebSocket sync hub (Node only, on `ws` 8), its token
 * format, and the interfaces of the stores several hub processes would share.
 */
export {
  type ChannelGroupListener,
  type ChannelGroupStore,
  MemoryChannelGroupStore,
} from "./channel-group-store.js";
export { type CliIo, type CliResult, helpText, parseDurationSeconds, runCli } from "./cli.js";
export { type FanOut, type FanOutItem, type FanOutListener, LocalFanOut } from "./fan-out.js";
export {
  type AppendInput,
  type CatchUp,
  type HistoryQuery,
  type HistoryStore,
  type HubMessage,
  MemoryHistoryStore,
} from "./history-store.js";
export { channelNameProblem, clientIdProblem, defaultRetention, groupNameProblem } from "./hub-names.js";
export {
  type HubLogger,
  jsonLineLogger,
  LOG_LEVELS,
  type LogEntry,
  type LogLevel,
  silentLogger,
} from "./log.js";
export { encodePrometheus, type Metric, type MetricSample } from "./metrics.js";
export {
  type HereNowChannel,
  MemoryPresenceTable,
  MISSED_INTERVALS_BEFORE_TIMEOUT,
  type PresenceChange,
  type PresenceTable,
  type PresenceTouch,
} from "./presence-table.js";
export {
  checkGrants,
  DEFAULT_TOKEN_TTL_SECONDS,
  grantsAllowChannel,
  grantsAllowGroup,
  MAX_TOKEN_LENGTH,
  MIN_SECRET_BYTES,
  type MintTokenOptions,
  mintToken,
  newTokenId,
  PERMISSIONS,
  type Permission,
  type TokenClaims,
  type TokenFailure,
  type TokenGrants,
  userToken,
  userTokenGrants,
  verifyToken,
} from "./tokens.js";
export { type HubStats, WS_HUB_DEFAULTS, WsHub, type WsHubOptions } from "./ws-hub.js";
