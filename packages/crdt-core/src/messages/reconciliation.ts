/**
 * State reconciliation (spec 6.4, DEVIATIONS 9): a device that was away longer than the sync
 * channel's history (100 messages / 24 h, spec 9.1) asks for the state itself, and any replica
 * that holds it answers, split into chunks under the transport's size limit. Every chunk is a
 * valid delta on its own, merged by the same path as live messages, so chunks may be lost,
 * duplicated or reordered (docs/protocol.md, "Reconciliation").
 */
import {
  array,
  at,
  type Check,
  fail,
  integer,
  literal,
  nullable,
  object,
  oneOf,
  record,
  ValidationError,
} from "../schema.js";
import { hlcTimestamp, id } from "./common.js";
import { checkDeviceHeartbeat, type DeviceHeartbeatMessage } from "./devices.js";
import {
  checkWatchlistUpdate,
  checkWatchProgressUpdate,
  preferenceValue,
  type WatchlistUpdateMessage,
  type WatchProgressUpdateMessage,
} from "./sync.js";

// ---------------------------------------------------------------------------------------------
// state_reconciliation_request

export const STATE_TYPES = ["WatchProgress", "Watchlist", "Preferences", "Devices"] as const;
export type StateType = (typeof STATE_TYPES)[number];
const stateTypes = array(oneOf(STATE_TYPES), { min: 1, max: STATE_TYPES.length });

/** One to four distinct state types. */
export const requestedStates: Check<StateType[]> = (value) => {
  const states = stateTypes(value);
  for (let i = 1; i < states.length; i++) {
    if (states.indexOf(states[i]!) < i) throw new ValidationError("is listed twice", [i]);
  }
  return states;
};

export interface StateReconciliationRequestMessage {
  readonly msg_type: "state_reconciliation_request";
  readonly device_id: string;
  /** The requester's HLC when it last knew the state (0: never). Responders may ignore it. */
  readonly last_known_state_timestamp: number;
  readonly requested_states: readonly StateType[];
  /** Echoed by responses. Default `${device_id}:${last_known_state_timestamp}`. */
  readonly request_id?: string;
}

export const checkStateReconciliationRequest: Check<StateReconciliationRequestMessage> = object(
  {
    msg_type: literal("state_reconciliation_request"),
    device_id: id,
    last_known_state_timestamp: hlcTimestamp,
    requested_states: requestedStates,
  },
  { request_id: id },
);

/** The request's `request_id`, or its default. */
export function reconciliationRequestId(request: StateReconciliationRequestMessage): string {
  return request.request_id ?? `${request.device_id}:${request.last_known_state_timestamp}`;
}

// ---------------------------------------------------------------------------------------------
// state_reconciliation_response

/**
 * Bounds on one response. The 32 KiB message limit binds first for encoded messages; these keep
 * a response handed to `parseMessage` as an object from being absurd.
 */
export const MAX_RECONCILIATION_ENTRIES = 1024;
export const MAX_RECONCILIATION_DEVICES = 256;
/** Most replicas a `watchlist_context` names, and most ranges per replica. */
export const MAX_CONTEXT_REPLICAS = 1024;
export const MAX_CONTEXT_RANGES = 1024;
export const MAX_CHUNKS = 4096;

/** One preference's LWW-Register state: the `preference_update` fields that survive a merge. */
export interface PreferenceEntry {
  /** `null`: the preference was reset. */
  readonly value: unknown;
  readonly timestamp: number;
  readonly device_id: string;
}

export const checkPreferenceEntry: Check<PreferenceEntry> = object({
  value: preferenceValue,
  timestamp: hlcTimestamp,
  device_id: id,
});

/** An inclusive run `[from, to]` of one replica's dot counters, `1 <= from <= to`. */
export type CounterRange = readonly [from: number, to: number];

const counter = integer({ min: 1 });

/** Like `dot`, returns the validated input pair itself. */
export const counterRange: Check<CounterRange> = (value) => {
  if (!Array.isArray(value) || value.length !== 2) fail("expected a [from, to] pair");
  const from = at(0, counter, value[0]);
  const to = at(1, counter, value[1]);
  if (to < from) throw new ValidationError(`expected at least from (${from})`, [1]);
  return value as unknown as CounterRange;
};

/** replica → its counter ranges: the causal context a chunk speaks for, besides its entries' dots. */
export type WatchlistContext = Readonly<Record<string, readonly CounterRange[]>>;

export const checkWatchlistContext: Check<WatchlistContext> = record(
  array(counterRange, { max: MAX_CONTEXT_RANGES }),
  { key: id, maxKeys: MAX_CONTEXT_REPLICAS },
);

/** The response lists live entries, so every watchlist item must be an Add. */
const liveWatchlistEntry: Check<WatchlistUpdateMessage> = (value) => {
  const entry = checkWatchlistUpdate(value);
  if (entry.operation !== "Add") throw new ValidationError("a live entry must be an Add", ["operation"]);
  return entry;
};

export interface ReconciliationChunk {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

const chunkFields = object({
  index: integer({ min: 0, max: MAX_CHUNKS - 1 }),
  count: integer({ min: 1, max: MAX_CHUNKS }),
});

export const checkReconciliationChunk: Check<ReconciliationChunk> = (value) => {
  const chunk = chunkFields(value);
  if (chunk.index >= chunk.count)
    throw new ValidationError(`expected less than count (${chunk.count})`, ["index"]);
  return chunk;
};

export interface StateReconciliationResponseMessage {
  readonly msg_type: "state_reconciliation_response";
  readonly watch_progress: readonly WatchProgressUpdateMessage[];
  /** Live entries: Adds, each with its dot (explicit or the `[unique_tag, 1]` default). */
  readonly watchlist: readonly WatchlistUpdateMessage[];
  /** key → register state; `null`: preferences not included (spec 6.4 `Option`). */
  readonly preferences: Readonly<Record<string, PreferenceEntry>> | null;
  readonly devices: readonly DeviceHeartbeatMessage[];
  /** The responder's HLC when it built the response. */
  readonly server_timestamp: number;
  /** Default `{}`. */
  readonly watchlist_context?: WatchlistContext;
  readonly request_id?: string;
  readonly responder_device_id?: string;
  /** Absent: the whole response is one chunk. */
  readonly chunk?: ReconciliationChunk;
}

export const checkStateReconciliationResponse: Check<StateReconciliationResponseMessage> = object(
  {
    msg_type: literal("state_reconciliation_response"),
    watch_progress: array(checkWatchProgressUpdate, { max: MAX_RECONCILIATION_ENTRIES }),
    watchlist: array(liveWatchlistEntry, { max: MAX_RECONCILIATION_ENTRIES }),
    preferences: nullable(record(checkPreferenceEntry, { key: id, maxKeys: MAX_RECONCILIATION_ENTRIES })),
    devices: array(checkDeviceHeartbeat, { max: MAX_RECONCILIATION_DEVICES }),
    server_timestamp: hlcTimestamp,
  },
  {
    watchlist_context: checkWatchlistContext,
    request_id: id,
    responder_device_id: id,
    chunk: checkReconciliationChunk,
  },
);

export const reconciliationMessageChecks = {
  state_reconciliation_request: checkStateReconciliationRequest,
  state_reconciliation_response: checkStateReconciliationResponse,
} as const;

export type ReconciliationMessage = StateReconciliationRequestMessage | StateReconciliationResponseMessage;
