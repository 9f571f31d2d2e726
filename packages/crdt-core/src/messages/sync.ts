/**
 * The `user.{userId}.sync` family (spec 2.1): the three CRDT deltas every device of a user
 * publishes. Each message is a delta whose merge is idempotent, commutative and associative
 * (DEVIATIONS 6), so none needs a message id.
 */

import type { Dot } from "../causal-context.js";
import {
  at,
  type Check,
  fail,
  integer,
  isPlainObject,
  json,
  literal,
  nullable,
  number,
  object,
  oneOf,
  string,
  ValidationError,
} from "../schema.js";
import {
  type DeviceType,
  deviceType,
  hlcTimestamp,
  id,
  nonEmptyLabel,
  type PlaybackState,
  playbackState,
  seconds,
} from "./common.js";

// ---------------------------------------------------------------------------------------------
// watch_progress_update (spec 3.1, LWW-Register)

export interface WatchProgressUpdateMessage {
  readonly msg_type: "watch_progress_update";
  readonly content_id: string;
  readonly progress_seconds: number;
  readonly duration_seconds: number;
  /** 0..1; 0 when `duration_seconds` is 0 (DEVIATIONS 11: the spec divides by zero). */
  readonly completion_percent: number;
  readonly timestamp: number;
  readonly device_id: string;
  readonly device_type: DeviceType;
  readonly state: PlaybackState;
}

/** A fraction in 0..1 (DEVIATIONS 11). */
export const fraction: Check<number> = number({ min: 0, max: 1 });

const watchProgressType = literal("watch_progress_update");

const watchProgressFields = object({
  msg_type: watchProgressType,
  content_id: id,
  progress_seconds: seconds,
  duration_seconds: seconds,
  completion_percent: fraction,
  timestamp: hlcTimestamp,
  device_id: id,
  device_type: deviceType,
  state: playbackState,
});

/**
 * `progress_seconds <= duration_seconds` unless the duration is unknown (0, e.g. a live
 * stream): a position past the end is a sender bug that would otherwise win the LWW merge
 * and stick on every device. `completion_percent` is not cross-checked against the ratio: the
 * spec computes it in f32, and senders round differently.
 */
function watchProgressUpdateChecked(value: unknown): WatchProgressUpdateMessage {
  const message = watchProgressFields(value);
  if (message.duration_seconds > 0 && message.progress_seconds > message.duration_seconds) {
    throw new ValidationError(`exceeds duration_seconds (${message.duration_seconds})`, ["progress_seconds"]);
  }
  return message;
}

// Fast accept, slow reject (issue 8, W3): the three messages of the sync channel, the ones
// every device receives all day, are first checked by straight-line code that calls the SAME
// field checks as the combinator above, in the same order, and builds the same object (same
// keys in the same order, so one object shape for the merge that reads it). On any doubt —
// a field check throws, a cross-field rule fails — it gives up, and the combinator runs from
// scratch: it alone decides every rejection and its error. So the accepted set, the values
// and every error stay exactly the combinator's (test/messages-fast-path.test.ts).

function fastWatchProgressUpdate(value: unknown): WatchProgressUpdateMessage | undefined {
  if (!isPlainObject(value)) return undefined;
  try {
    const message: WatchProgressUpdateMessage = {
      msg_type: watchProgressType(value.msg_type),
      content_id: id(value.content_id),
      progress_seconds: seconds(value.progress_seconds),
      duration_seconds: seconds(value.duration_seconds),
      completion_percent: fraction(value.completion_percent),
      timestamp: hlcTimestamp(value.timestamp),
      device_id: id(value.device_id),
      device_type: deviceType(value.device_type),
      state: playbackState(value.state),
    };
    if (message.duration_seconds > 0 && message.progress_seconds > message.duration_seconds) return undefined;
    return message;
  } catch {
    return undefined;
  }
}

export const checkWatchProgressUpdate: Check<WatchProgressUpdateMessage> = (value) =>
  fastWatchProgressUpdate(value) ?? watchProgressUpdateChecked(value);

/**
 * The `completion_percent` a sender should put on the wire: `progress / duration`, clamped to
 * 0..1, and 0 when the duration is 0 (spec 12.2 divides by zero there).
 */
export function completionPercent(progressSeconds: number, durationSeconds: number): number {
  if (!(progressSeconds >= 0 && progressSeconds <= Number.MAX_VALUE)) {
    throw new RangeError(`progressSeconds must be a finite non-negative number, got ${progressSeconds}`);
  }
  if (!(durationSeconds >= 0 && durationSeconds <= Number.MAX_VALUE)) {
    throw new RangeError(`durationSeconds must be a finite non-negative number, got ${durationSeconds}`);
  }
  return durationSeconds === 0 ? 0 : Math.min(1, progressSeconds / durationSeconds);
}

// ---------------------------------------------------------------------------------------------
// watchlist_update (spec 3.2, add-wins OR-Set delta; DEVIATIONS 4, 5)

/**
 * Dots on the wire are `[replica, counter]`, the OR-Set's own `Dot` (causal-context.ts): the
 * `counter`-th add minted by `replica`, naming one add of one element for ever.
 */

/** Longest `observed` list one message may carry. */
export const MAX_OBSERVED_DOTS = 4096;

const dotCounter = integer({ min: 1 });

/**
 * `[replica, counter]`. Returns the input array itself (it has exactly two valid items), so a
 * remove with thousands of observed dots allocates one array, not one per dot.
 */
export const dot: Check<Dot> = (value) => {
  if (!Array.isArray(value)) fail("expected a [replica, counter] pair");
  if (value.length !== 2) fail(`expected a [replica, counter] pair, got ${value.length} items`);
  at(0, id, value[0]);
  at(1, dotCounter, value[1]);
  return value as unknown as Dot;
};

/** `dot`s, at most `max`; like `dot`, returns the validated input array without copying it. */
export function dots(max: number): Check<readonly Dot[]> {
  return (value) => {
    if (!Array.isArray(value)) fail("expected an array of [replica, counter] pairs");
    if (value.length > max) fail(`expected at most ${max} items, got ${value.length}`);
    for (let i = 0; i < value.length; i++) at(i, dot, value[i]);
    return value as readonly Dot[];
  };
}

export const CONTENT_TYPES = ["Movie", "TVShow"] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];
export const contentType = oneOf(CONTENT_TYPES);

/** Longest `poster_url` (the de-facto URL limit of browsers and CDNs). */
export const MAX_URL_LENGTH = 2048;
export const url: Check<string> = string({ max: MAX_URL_LENGTH });

/** Lightweight metadata for an immediate UI update (spec 3.2 `ContentSnippet`). */
export interface ContentSnippet {
  readonly title: string;
  readonly year?: number | null;
  readonly poster_url?: string | null;
  readonly content_type: ContentType;
}

const snippetYear = nullable(integer({ min: 1800, max: 3000 }));
const snippetPosterUrl = nullable(url);

export const checkContentSnippet: Check<ContentSnippet> = object(
  { title: nonEmptyLabel, content_type: contentType },
  { year: snippetYear, poster_url: snippetPosterUrl },
);

/** `checkContentSnippet`'s accept path, straight-line (see `fastWatchProgressUpdate`); throws on doubt. */
function acceptContentSnippet(value: unknown): ContentSnippet {
  if (!isPlainObject(value)) fail("not a plain object");
  const title = nonEmptyLabel(value.title);
  const content_type = contentType(value.content_type);
  const year = value.year;
  const poster_url = value.poster_url;
  // The combinator's key order: required keys, then the optional ones present.
  if (year === undefined) {
    return poster_url === undefined
      ? { title, content_type }
      : { title, content_type, poster_url: snippetPosterUrl(poster_url) };
  }
  return poster_url === undefined
    ? { title, content_type, year: snippetYear(year) }
    : { title, content_type, year: snippetYear(year), poster_url: snippetPosterUrl(poster_url) };
}

export const WATCHLIST_OPERATIONS = ["Add", "Remove"] as const;
export type WatchlistOperation = (typeof WATCHLIST_OPERATIONS)[number];

export interface WatchlistUpdateMessage {
  readonly msg_type: "watchlist_update";
  readonly operation: WatchlistOperation;
  readonly content_id: string;
  readonly timestamp: number;
  readonly device_id: string;
  readonly unique_tag: string;
  readonly content_metadata?: ContentSnippet | null;
  /** Add only: the dot this add mints. Default `[unique_tag, 1]` (see `watchlistDot`). */
  readonly dot?: Dot;
  /**
   * Remove: the add-dots of `content_id` the remover had observed. Add: the element's older
   * dots this add supersedes. Defaults in `watchlistObserved`.
   */
  readonly observed?: readonly Dot[];
}

const watchlistType = literal("watchlist_update");
const watchlistOperation = oneOf(WATCHLIST_OPERATIONS);
const contentMetadata = nullable(checkContentSnippet);
const observedDots = dots(MAX_OBSERVED_DOTS);

const watchlistFields = object(
  {
    msg_type: watchlistType,
    operation: watchlistOperation,
    content_id: id,
    timestamp: hlcTimestamp,
    device_id: id,
    unique_tag: id,
  },
  { content_metadata: contentMetadata, dot, observed: observedDots },
);

/** A remove never mints a dot (research/crdt-anchors.md §2.4 rule 3, riak_dt#78). */
function watchlistUpdateChecked(value: unknown): WatchlistUpdateMessage {
  const message = watchlistFields(value);
  if (message.operation === "Remove" && message.dot !== undefined) {
    throw new ValidationError("a Remove mints no dot", ["dot"]);
  }
  return message;
}

/** `watchlistUpdateChecked`'s accept path (see `fastWatchProgressUpdate`). */
function fastWatchlistUpdate(value: unknown): WatchlistUpdateMessage | undefined {
  if (!isPlainObject(value)) return undefined;
  try {
    const out: {
      -readonly [K in keyof WatchlistUpdateMessage]: WatchlistUpdateMessage[K];
    } = {
      msg_type: watchlistType(value.msg_type),
      operation: watchlistOperation(value.operation),
      content_id: id(value.content_id),
      timestamp: hlcTimestamp(value.timestamp),
      device_id: id(value.device_id),
      unique_tag: id(value.unique_tag),
    };
    const metadata = value.content_metadata;
    if (metadata !== undefined)
      out.content_metadata = metadata === null ? null : acceptContentSnippet(metadata);
    const minted = value.dot;
    if (minted !== undefined) {
      if (out.operation === "Remove") return undefined;
      out.dot = dot(minted);
    }
    const observed = value.observed;
    if (observed !== undefined) out.observed = observedDots(observed);
    return out;
  } catch {
    return undefined;
  }
}

export const checkWatchlistUpdate: Check<WatchlistUpdateMessage> = (value) =>
  fastWatchlistUpdate(value) ?? watchlistUpdateChecked(value);

/** The dot an Add mints: its `dot`, or `[unique_tag, 1]` for a spec-3.2 message without one. */
export function watchlistDot(message: WatchlistUpdateMessage): Dot {
  return message.dot ?? [message.unique_tag, 1];
}

/**
 * The dots a message retires. A Remove without `observed` removes the add tagged
 * `unique_tag` (spec 7.2 removes by tag); an Add without it supersedes nothing.
 */
export function watchlistObserved(message: WatchlistUpdateMessage): readonly Dot[] {
  if (message.observed !== undefined) return message.observed;
  return message.operation === "Remove" ? [[message.unique_tag, 1]] : [];
}

// ---------------------------------------------------------------------------------------------
// preference_update (spec 2.1 names it an LWW-Register; the payload is ours)

/** Deepest nesting of a preference value. */
export const MAX_PREFERENCE_DEPTH = 8;

export interface PreferenceUpdateMessage {
  readonly msg_type: "preference_update";
  readonly key: string;
  /** Any JSON value; `null` means the preference was reset (an LWW delete, not a tombstone set). */
  readonly value: unknown;
  readonly timestamp: number;
  readonly device_id: string;
}

export const preferenceValue: Check<unknown> = json({ maxDepth: MAX_PREFERENCE_DEPTH });

const preferenceType = literal("preference_update");

const preferenceFields = object({
  msg_type: preferenceType,
  key: id,
  value: preferenceValue,
  timestamp: hlcTimestamp,
  device_id: id,
});

/** `preferenceFields`' accept path (see `fastWatchProgressUpdate`). */
function fastPreferenceUpdate(value: unknown): PreferenceUpdateMessage | undefined {
  if (!isPlainObject(value)) return undefined;
  try {
    return {
      msg_type: preferenceType(value.msg_type),
      key: id(value.key),
      value: preferenceValue(value.value),
      timestamp: hlcTimestamp(value.timestamp),
      device_id: id(value.device_id),
    };
  } catch {
    return undefined;
  }
}

export const checkPreferenceUpdate: Check<PreferenceUpdateMessage> = (value) =>
  fastPreferenceUpdate(value) ?? preferenceFields(value);

export const syncMessageChecks = {
  watch_progress_update: checkWatchProgressUpdate,
  watchlist_update: checkWatchlistUpdate,
  preference_update: checkPreferenceUpdate,
} as const;

export type SyncMessage = WatchProgressUpdateMessage | WatchlistUpdateMessage | PreferenceUpdateMessage;
