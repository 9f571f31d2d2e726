/**
 * A user's synchronised state (spec 2.1 `user.{id}.sync`): watch progress (LWW-Map
 * content_id → progress), the watchlist (add-wins OR-Set whose payload is the content snippet
 * and who added it), and preferences (LWW-Map key → JSON value).
 *
 * `applyMessageInto` is THE merge path: a live message, one fetched from history, a chunk of a
 * reconciliation response and the device's own local change all go through it
 * (ARCHITECTURE.md, "one merge path"). Local changes are made by building the message first
 * (`watchlistAddMessage`, …) and applying it, so what a device shows is exactly what it sends.
 */
import { type CausalContext, ccAddInto, ccAddRangeInto, ccNextDot } from "./causal-context.js";
import type { Hlc } from "./hlc.js";
import { lwwValueEquals, requireStamp } from "./lww.js";
import {
  type LwwMapEntry,
  type LwwMapJson,
  lwwMapDeleteDelta,
  lwwMapEmpty,
  lwwMapEquals,
  lwwMapFromJSON,
  lwwMapGet,
  lwwMapJoinEntryInto,
  lwwMapJoinInto,
  lwwMapSetDelta,
  lwwMapStampLoses,
  lwwMapToJSON,
  type MutableLwwMap,
} from "./lww-map.js";
import type { DeviceType, PlaybackState } from "./messages/common.js";
import { deviceType, hlcTimestamp, id, playbackState, seconds } from "./messages/common.js";
import type { Message } from "./messages/index.js";
import type { StateReconciliationResponseMessage } from "./messages/reconciliation.js";
import {
  type ContentSnippet,
  checkContentSnippet,
  completionPercent,
  fraction,
  type PreferenceUpdateMessage,
  preferenceValue,
  type WatchlistUpdateMessage,
  type WatchProgressUpdateMessage,
  watchlistDot,
  watchlistObserved,
} from "./messages/sync.js";
import {
  DoubleSpentDotError,
  type OrSet,
  type OrSetChange,
  type OrSetDot,
  type OrSetJSON,
  orSetApplyDotInto,
  orSetClone,
  orSetEmpty,
  orSetEquals,
  orSetFromJSON,
  orSetJoinInto,
  orSetPayload,
  orSetToJSON,
  orSetValues,
} from "./or-set.js";
import { atPath, type Check, isPlainObject, nullable, object, ValidationError } from "./schema.js";

/** The value of one title's progress register (its stamp is the message's timestamp and device). */
export interface WatchProgress {
  readonly progress_seconds: number;
  readonly duration_seconds: number;
  readonly completion_percent: number;
  readonly state: PlaybackState;
  readonly device_type: DeviceType;
}

/** The payload of a watchlist add: what a UI shows without fetching the catalog. */
export interface WatchlistItem {
  readonly added_at: Hlc;
  readonly added_by: string;
  readonly content_metadata?: ContentSnippet | null;
}

export interface UserSyncState {
  readonly progress: MutableLwwMap<WatchProgress>;
  readonly watchlist: OrSet;
  /** A `null` value on the wire is a delete here (`preference_update` with `value: null`). */
  readonly preferences: MutableLwwMap<unknown>;
}

/** What a UI must redraw after a merge; empty for a duplicate. */
export type SyncChange =
  | { readonly kind: "watchlist"; readonly content_id: string; readonly change: OrSetChange["kind"] }
  | { readonly kind: "progress"; readonly content_id: string }
  | { readonly kind: "preference"; readonly key: string };

export function syncStateEmpty(): UserSyncState {
  return { progress: lwwMapEmpty(), watchlist: orSetEmpty(), preferences: lwwMapEmpty() };
}

export function syncStateClone(state: UserSyncState): UserSyncState {
  return {
    progress: { entries: new Map(state.progress.entries) },
    watchlist: orSetClone(state.watchlist),
    preferences: { entries: new Map(state.preferences.entries) },
  };
}

// ---------------------------------------------------------------------------------------------
// The one merge path

/**
 * Merges `message` into `state`, which the caller owns, and returns what changed. Messages that
 * are not about the sync state (heartbeats, commands, …) change nothing. Throws
 * `DoubleSpentDotError` (a `ValidationError`) before changing anything if the message reuses a
 * dot for another title — a buggy or hostile peer; the caller counts and drops it.
 */
export function applyMessageInto(state: UserSyncState, message: Message): SyncChange[] {
  switch (message.msg_type) {
    case "watch_progress_update":
      return applyProgressInto(state.progress, message);
    case "preference_update":
      return applyPreferenceInto(state.preferences, message);
    case "watchlist_update":
      return applyWatchlistInto(state.watchlist, message);
    case "state_reconciliation_response":
      return applyResponseInto(state, message);
    default:
      return NO_CHANGES;
  }
}

/**
 * What a merge that changed nothing returns (a duplicate, an older write, a message not about
 * the sync state): one shared frozen array instead of a fresh one per message, the common case
 * on a busy channel. Frozen, so a caller that pushes onto it fails loudly instead of
 * corrupting every later result.
 */
const NO_CHANGES: SyncChange[] = Object.freeze([]) as unknown as SyncChange[];

// The single-message paths below join one entry directly (`lwwMapJoinEntryInto`,
// `orSetApplyDotInto`): the same joins as a one-entry delta (`lwwMapSetDelta`,
// `watchlistDelta`), without building it. Messages reaching `applyMessageInto` are typed
// (validated by `parseMessage`, or built by our builders), so of `requireStamp` only the
// cheap part stays (`requireStampCheaply`).

function applyProgressInto(
  progress: MutableLwwMap<WatchProgress>,
  message: WatchProgressUpdateMessage,
): SyncChange[] {
  const key = message.content_id;
  requireStampCheaply(message.timestamp, message.device_id);
  // An older stamp loses whatever the value: decide before building the entry.
  if (lwwMapStampLoses(progress, key, message.timestamp, message.device_id)) return NO_CHANGES;
  if (!lwwMapJoinEntryInto(progress, key, progressEntry(message), sameProgress)) return NO_CHANGES;
  return [{ kind: "progress", content_id: key }];
}

function applyPreferenceInto(
  preferences: MutableLwwMap<unknown>,
  message: PreferenceUpdateMessage,
): SyncChange[] {
  const key = message.key;
  requireStampCheaply(message.timestamp, message.device_id);
  if (lwwMapStampLoses(preferences, key, message.timestamp, message.device_id)) return NO_CHANGES;
  if (!lwwMapJoinEntryInto(preferences, key, preferenceEntry(message))) return NO_CHANGES;
  return [{ kind: "preference", key }];
}

function applyWatchlistInto(watchlist: OrSet, message: WatchlistUpdateMessage): SyncChange[] {
  const add = message.operation === "Add";
  const changes = orSetApplyDotInto(
    watchlist,
    message.content_id,
    add ? watchlistDot(message) : undefined,
    watchlistObserved(message),
    add ? addItem(message) : undefined,
  );
  if (changes.length === 0) return NO_CHANGES;
  if (changes.length > 1) return watchlistChanges(changes);
  const { element, kind } = changes[0]!;
  return [{ kind: "watchlist", content_id: element, change: kind }];
}

/**
 * `lwwValueEquals` for two `WatchProgress` values, field by field: the incoming value is built
 * by `progressEntry` with exactly these five fields, so when they differ the values differ;
 * when they agree, `lwwValueEquals` still has the last word (the stored value could carry more
 * fields, if its holder put them there), and that is the rare case of a re-sent position.
 */
function sameProgress(x: WatchProgress, y: WatchProgress): boolean {
  return (
    x.progress_seconds === y.progress_seconds &&
    x.duration_seconds === y.duration_seconds &&
    x.completion_percent === y.completion_percent &&
    x.state === y.state &&
    x.device_type === y.device_type &&
    lwwValueEquals(x, y)
  );
}

/** The pure form: a new state, `state` untouched. */
export function applyMessage(
  state: UserSyncState,
  message: Message,
): { state: UserSyncState; changes: SyncChange[] } {
  const next = syncStateClone(state);
  return { state: next, changes: applyMessageInto(next, message) };
}

/** The least upper bound of two states (every part joined). Pure. */
export function mergeStates(a: UserSyncState, b: UserSyncState): UserSyncState {
  const out = syncStateClone(a);
  orSetJoinInto(out.watchlist, b.watchlist);
  lwwMapJoinInto(out.progress, b.progress);
  lwwMapJoinInto(out.preferences, b.preferences);
  return out;
}

function applyResponseInto(state: UserSyncState, response: StateReconciliationResponseMessage): SyncChange[] {
  // Build every delta first and join the watchlist (the only join that can refuse) before the
  // others, so a refused response leaves the state untouched.
  const watchlist = watchlistDelta(response.watchlist, response.watchlist_context);
  const progress = lwwMapEmpty<WatchProgress>();
  for (const message of response.watch_progress) {
    requireStampCheaply(message.timestamp, message.device_id);
    lwwMapJoinEntryInto(progress, message.content_id, progressEntry(message));
  }
  const preferences = lwwMapEmpty<unknown>();
  for (const [key, entry] of Object.entries(response.preferences ?? {})) {
    lwwMapJoinInto(
      preferences,
      preferenceDelta({ key, value: entry.value, timestamp: entry.timestamp, device_id: entry.device_id }),
    );
  }
  return [
    ...watchlistChanges(orSetJoinInto(state.watchlist, watchlist)),
    ...progressChanges(lwwMapJoinInto(state.progress, progress)),
    ...preferenceChanges(lwwMapJoinInto(state.preferences, preferences)),
  ];
}

function preferenceDelta(
  message: Pick<PreferenceUpdateMessage, "key" | "value" | "timestamp" | "device_id">,
): MutableLwwMap<unknown> {
  return message.value === null
    ? lwwMapDeleteDelta(message.key, message.timestamp, message.device_id)
    : lwwMapSetDelta(message.key, message.value, message.timestamp, message.device_id);
}

function progressValue(message: WatchProgressUpdateMessage): WatchProgress {
  return {
    progress_seconds: message.progress_seconds,
    duration_seconds: message.duration_seconds,
    completion_percent: message.completion_percent,
    state: message.state,
    device_type: message.device_type,
  };
}

/**
 * The register a progress message writes (what `lwwMapSetDelta` would hold, without the delta
 * around it). Fields in `lwwMapSetDelta`'s order, so every entry of the map keeps one shape.
 */
function progressEntry(message: WatchProgressUpdateMessage): LwwMapEntry<WatchProgress> {
  return { value: progressValue(message), ts: message.timestamp, node: message.device_id, deleted: false };
}

/** The entry `preferenceDelta` would hold: `value: null` on the wire is a delete. */
function preferenceEntry(message: PreferenceUpdateMessage): LwwMapEntry<unknown> {
  return message.value === null
    ? { value: undefined, ts: message.timestamp, node: message.device_id, deleted: true }
    : { value: message.value, ts: message.timestamp, node: message.device_id, deleted: false };
}

/**
 * The part of `requireStamp` a single-message merge keeps. Messages here are validated
 * (`parseMessage`) or built by our builders, so the full id check (a regex per message) is
 * skipped; what stays costs two comparisons and catches the misuse that would corrupt the
 * map for good: a timestamp no comparison orders (NaN never wins nor loses) or a node that is
 * not a string. `requireStamp` itself throws, with its own message.
 */
function requireStampCheaply(ts: Hlc, node: string): void {
  if (!Number.isSafeInteger(ts) || ts < 0 || typeof node !== "string" || node === "") requireStamp(ts, node);
}

/** The payload an Add gives its dot: what a UI shows without fetching the catalog. */
function addItem(message: WatchlistUpdateMessage): WatchlistItem {
  return message.content_metadata === undefined
    ? { added_at: message.timestamp, added_by: message.device_id }
    : {
        added_at: message.timestamp,
        added_by: message.device_id,
        content_metadata: message.content_metadata,
      };
}

/**
 * The OR-Set delta of watchlist messages: each Add's dot (with its item as payload) and
 * everything the messages observed, plus `context` ranges a reconciliation chunk speaks for.
 */
function watchlistDelta(
  messages: readonly WatchlistUpdateMessage[],
  context: StateReconciliationResponseMessage["watchlist_context"],
): OrSet {
  const delta = orSetEmpty();
  const cc: CausalContext = delta.context;
  for (const message of messages) {
    for (const [replica, counter] of watchlistObserved(message)) ccAddInto(cc, replica, counter);
    if (message.operation !== "Add") continue;
    const [replica, counter] = watchlistDot(message);
    const item = addItem(message);
    let counters = delta.index.get(replica);
    if (counters === undefined) {
      counters = new Map();
      delta.index.set(replica, counters);
    }
    const existing = counters.get(counter);
    if (existing !== undefined && existing !== message.content_id) {
      throw new DoubleSpentDotError([replica, counter], existing, message.content_id);
    }
    if (existing === undefined) {
      counters.set(counter, message.content_id);
      const dots = delta.entries.get(message.content_id);
      const dot: OrSetDot = { replica, counter, payload: item };
      delta.entries.set(message.content_id, dots === undefined ? [dot] : [...dots, dot]);
    }
    ccAddInto(cc, replica, counter);
  }
  if (context !== undefined) {
    for (const replica of Object.keys(context)) {
      for (const [from, to] of context[replica]!) ccAddRangeInto(cc, replica, from, to);
    }
  }
  return delta;
}

function progressChanges(keys: string[]): SyncChange[] {
  return keys.map((content_id) => ({ kind: "progress", content_id }));
}

function preferenceChanges(keys: string[]): SyncChange[] {
  return keys.map((key) => ({ kind: "preference", key }));
}

function watchlistChanges(changes: readonly OrSetChange[]): SyncChange[] {
  return changes.map((c) => ({ kind: "watchlist", content_id: c.element, change: c.kind }));
}

// ---------------------------------------------------------------------------------------------
// Reading

export function watchlistValues(state: UserSyncState): string[] {
  return orSetValues(state.watchlist);
}

export function watchlistItem(state: UserSyncState, contentId: string): WatchlistItem | undefined {
  return orSetPayload(state.watchlist, contentId) as WatchlistItem | undefined;
}

export function progressOf(state: UserSyncState, contentId: string): WatchProgress | undefined {
  return lwwMapGet(state.progress, contentId);
}

export function preferenceOf(state: UserSyncState, key: string): unknown {
  return lwwMapGet(state.preferences, key);
}

// ---------------------------------------------------------------------------------------------
// Local changes: build the message, then apply it like any other

export interface ProgressInput {
  readonly content_id: string;
  readonly progress_seconds: number;
  readonly duration_seconds: number;
  readonly state: PlaybackState;
  readonly device_id: string;
  readonly device_type: DeviceType;
  readonly timestamp: Hlc;
}

export function watchProgressMessage(input: ProgressInput): WatchProgressUpdateMessage {
  return {
    msg_type: "watch_progress_update",
    content_id: input.content_id,
    progress_seconds: input.progress_seconds,
    duration_seconds: input.duration_seconds,
    completion_percent: completionPercent(input.progress_seconds, input.duration_seconds),
    timestamp: input.timestamp,
    device_id: input.device_id,
    device_type: input.device_type,
    state: input.state,
  };
}

export interface WatchlistChangeInput {
  readonly content_id: string;
  readonly device_id: string;
  readonly timestamp: Hlc;
}

/**
 * An Add minting the next dot of `replica` (the device's dot-replica id: a fresh one per
 * incarnation, see docs/decisions.md) and superseding the title's dots seen here.
 * `unique_tag` is `replica:counter`, so a spec-only peer that removes by tag removes this add.
 */
export function watchlistAddMessage(
  state: UserSyncState,
  input: WatchlistChangeInput & {
    readonly replica: string;
    readonly content_metadata?: ContentSnippet | null;
  },
): WatchlistUpdateMessage {
  const [replica, counter] = ccNextDot(state.watchlist.context, input.replica);
  const message: WatchlistUpdateMessage = {
    msg_type: "watchlist_update",
    operation: "Add",
    content_id: input.content_id,
    timestamp: input.timestamp,
    device_id: input.device_id,
    unique_tag: `${replica}:${counter}`,
    dot: [replica, counter],
    observed: observedDots(state, input.content_id),
  };
  return input.content_metadata === undefined
    ? message
    : { ...message, content_metadata: input.content_metadata };
}

/**
 * A Remove observing exactly the title's dots seen here (an add it has not seen survives:
 * add wins). `unique_tag` names the greatest observed add, for spec-only peers.
 */
export function watchlistRemoveMessage(
  state: UserSyncState,
  input: WatchlistChangeInput,
): WatchlistUpdateMessage {
  const observed = observedDots(state, input.content_id);
  const last = observed[observed.length - 1];
  return {
    msg_type: "watchlist_update",
    operation: "Remove",
    content_id: input.content_id,
    timestamp: input.timestamp,
    device_id: input.device_id,
    unique_tag: last === undefined ? `${input.device_id}:${input.timestamp}` : `${last[0]}:${last[1]}`,
    observed,
  };
}

function observedDots(state: UserSyncState, contentId: string): Array<readonly [string, number]> {
  const dots = state.watchlist.entries.get(contentId) ?? [];
  return [...dots]
    .sort((x, y) => x.counter - y.counter || (x.replica < y.replica ? -1 : x.replica > y.replica ? 1 : 0))
    .map((d) => [d.replica, d.counter] as const);
}

/** `value: null` resets the preference (an LWW delete). */
export function preferenceMessage(input: {
  readonly key: string;
  readonly value: unknown;
  readonly device_id: string;
  readonly timestamp: Hlc;
}): PreferenceUpdateMessage {
  return {
    msg_type: "preference_update",
    key: input.key,
    value: input.value,
    timestamp: input.timestamp,
    device_id: input.device_id,
  };
}

// ---------------------------------------------------------------------------------------------
// Equality and JSON (snapshots)

export function syncStateEquals(a: UserSyncState, b: UserSyncState): boolean {
  return (
    orSetEquals(a.watchlist, b.watchlist) &&
    lwwMapEquals(a.progress, b.progress) &&
    lwwMapEquals(a.preferences, b.preferences)
  );
}

export interface UserSyncStateJSON {
  readonly progress: LwwMapJson<WatchProgress>;
  readonly watchlist: OrSetJSON;
  readonly preferences: LwwMapJson<unknown>;
}

export function syncStateToJSON(state: UserSyncState): UserSyncStateJSON {
  return {
    progress: lwwMapToJSON(state.progress),
    watchlist: orSetToJSON(state.watchlist),
    preferences: lwwMapToJSON(state.preferences),
  };
}

export const checkWatchProgress: Check<WatchProgress> = object({
  progress_seconds: seconds,
  duration_seconds: seconds,
  completion_percent: fraction,
  state: playbackState,
  device_type: deviceType,
});

export const checkWatchlistItem: Check<WatchlistItem> = object(
  { added_at: hlcTimestamp, added_by: id },
  { content_metadata: nullable(checkContentSnippet) },
);

/** Validates a snapshot; throws `ValidationError` naming the path (`watchlist.entries.x[0][2].added_at: …`). */
export function syncStateFromJSON(json: unknown): UserSyncState {
  if (!isPlainObject(json))
    throw new ValidationError("expected an object with progress, watchlist and preferences");
  return {
    progress: atPath(["progress"], (v) => lwwMapFromJSON(v, checkWatchProgress), json.progress),
    watchlist: atPath(["watchlist"], (v) => orSetFromJSON(v, checkWatchlistItem), json.watchlist),
    preferences: atPath(["preferences"], (v) => lwwMapFromJSON(v, preferenceValue), json.preferences),
  };
}
