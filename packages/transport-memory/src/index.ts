/**
 * @mg-sync/transport-memory: a seeded, simulated PubNub on virtual time. `new MemoryNetwork({ seed })`,
 * then `network.client(id)` is a crdt-core `Transport`; drive time with `runUntilQuiet`, `runFor`
 * and `runUntilSettled`. Runs in Node 20+ and browsers (no `node:` imports).
 */
export { MAX_HISTORY_COUNT } from "./channel-log.js";
export {
  DEFAULT_LATENCY,
  DEFAULT_RETRY_INTERVAL_MS,
  DEFAULT_RUN_LIMIT_MS,
  DEFAULT_START_TIME_MS,
  type LatencyModel,
  type LatencyRange,
  type LinkDirection,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type NetworkConditions,
  type RetentionOverride,
  type RunOptions,
} from "./memory-network.js";
export { seededRandom } from "./random.js";
