/**
 * Test support for mg-sync packages: fast-check arbitraries, histories with oracles, and law
 * checkers. Needs `fast-check` (an optional peer dependency); never imported by the runtime entry.
 */

export * from "./device-arbitraries.js";
export { checkJoinLaws, checkJoinLawsOnTriples, type JoinLawOptions } from "./join-laws.js";
export {
  LWW_TEST_KEYS,
  LWW_TEST_NODES,
  type LwwArbitraryOptions,
  type LwwMapArbitraryOptions,
  lwwMapArbitrary,
  lwwMapEntryArbitrary,
  lwwRegisterArbitrary,
  lwwStampArbitrary,
  lwwValueArbitrary,
} from "./lww-arbitraries.js";
export * from "./message-arbitraries.js";
export {
  type OrSetHistory,
  type OrSetHistoryOptions,
  type OrSetLogEntry,
  type OrSetStep,
  orSetHistoryArbitrary,
  orSetOracle,
  orSetStepArbitrary,
  runOrSetHistory,
} from "./or-set-histories.js";
export {
  HISTORY_PREFERENCE_KEYS,
  HISTORY_TITLES,
  runSyncHistory,
  type SyncHistory,
  type SyncMessageOfHistory,
  type SyncModel,
  type SyncStep,
  syncHistoryArbitrary,
  syncModel,
  syncStepArbitrary,
} from "./sync-histories.js";
