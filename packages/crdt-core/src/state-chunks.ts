/**
 * A whole user state as reconciliation responses that each fit the transport's message limit
 * and are each a valid delta on their own (DEVIATIONS 9), so they can be lost, duplicated and
 * applied in any order through `applyMessageInto`.
 *
 * Registers (progress, preferences) are independent and go anywhere. The watchlist is the
 * subtle part: a chunk's causal context claims "of these dots, only the ones I carry are
 * live", so a chunk must never claim a dot that another chunk carries. Each replica's counter
 * space is therefore cut into intervals; a chunk speaks for whole intervals only: their context
 * ranges and every live dot inside them. Ranges cost a few bytes however many dots they cover,
 * so even a long history of removes travels cheaply.
 */
import { ccRanges } from "./causal-context.js";
import type { Hlc } from "./hlc.js";
import { MAX_MESSAGE_BYTES } from "./messages/common.js";
import type { DeviceHeartbeatMessage } from "./messages/devices.js";
import { rememberEncoding } from "./messages/encoding-memo.js";
import { encodedByteLength, encodeMessage } from "./messages/index.js";
import {
  type CounterRange,
  MAX_CHUNKS,
  type PreferenceEntry,
  STATE_TYPES,
  type StateReconciliationResponseMessage,
  type StateType,
} from "./messages/reconciliation.js";
import type { WatchlistUpdateMessage, WatchProgressUpdateMessage } from "./messages/sync.js";
import type { OrSetDot } from "./or-set.js";
import { setOwn } from "./schema.js";
import type { UserSyncState, WatchlistItem } from "./sync-state.js";

export interface StateToChunksOptions {
  /** The responder's HLC now (the responses' `server_timestamp`). */
  readonly serverTimestamp: Hlc;
  readonly requestId?: string;
  readonly responderDeviceId?: string;
  /** Which parts to send (default: all). */
  readonly include?: readonly StateType[];
  /** Device heartbeats to send when `Devices` is included. */
  readonly devices?: readonly DeviceHeartbeatMessage[];
}

/** Room left for JSON punctuation the estimate does not count exactly. */
const SLACK_BYTES = 16;

interface Chunk {
  watch_progress: WatchProgressUpdateMessage[];
  watchlist: WatchlistUpdateMessage[];
  preferences: Record<string, PreferenceEntry> | null;
  devices: DeviceHeartbeatMessage[];
  context: Map<string, CounterRange[]>;
  used: number;
  /** The JSON texts of `watch_progress`'s and `watchlist`'s items, made once to measure them. */
  progressTexts: string[];
  watchlistTexts: string[];
  /** UTF-8 bytes of those texts, summed. */
  itemBytes: number;
}

/**
 * Splits `state` into `state_reconciliation_response` messages whose encodings are each at most
 * `maxBytes` (UTF-8). Always returns at least one message. Throws `RangeError` if one entry
 * alone cannot fit in `maxBytes`.
 */
export function stateToChunks(
  state: UserSyncState,
  maxBytes: number,
  options: StateToChunksOptions,
): StateReconciliationResponseMessage[] {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`stateToChunks: maxBytes must be a positive integer, got ${maxBytes}`);
  }
  const include = new Set(options.include ?? STATE_TYPES);
  const packer = new Packer(maxBytes - envelopeBytes(options) - SLACK_BYTES, maxBytes);

  if (include.has("Watchlist")) packWatchlist(state, packer);

  if (include.has("WatchProgress")) {
    for (const [contentId, entry] of sortedEntries(state.progress.entries)) {
      if (entry.deleted) continue;
      const message: WatchProgressUpdateMessage = {
        msg_type: "watch_progress_update",
        content_id: contentId,
        ...entry.value,
        timestamp: entry.ts,
        device_id: entry.node,
      };
      const text = JSON.stringify(message);
      const bytes = encodedByteLength(text);
      const chunk = packer.reserve(bytes + 1, `progress of ${contentId}`);
      chunk.watch_progress.push(message);
      chunk.progressTexts.push(text);
      chunk.itemBytes += bytes;
    }
  }

  if (include.has("Preferences")) {
    for (const [key, entry] of sortedEntries(state.preferences.entries)) {
      const value: PreferenceEntry = {
        value: entry.deleted ? null : entry.value,
        timestamp: entry.ts,
        device_id: entry.node,
      };
      const chunk = packer.reserve(jsonBytes(key) + 1 + jsonBytes(value) + 1, `preference ${key}`);
      chunk.preferences ??= {};
      setOwn(chunk.preferences, key, value);
    }
  }

  if (include.has("Devices")) {
    for (const device of options.devices ?? []) {
      packer.reserve(jsonBytes(device) + 1, `device ${device.device_id}`).devices.push(device);
    }
  }

  const chunks = packer.chunks;
  if (chunks.length > MAX_CHUNKS) {
    throw new RangeError(
      `stateToChunks: the state needs ${chunks.length} chunks, over the ${MAX_CHUNKS} a response may have`,
    );
  }
  return chunks.map((chunk, index) => {
    const message = toMessage(chunk, index, chunks.length, options);
    const skeleton = JSON.stringify({ ...message, watch_progress: [], watchlist: [] });
    const bytes = messageBytes(message, skeleton, chunk.itemBytes);
    if (bytes > maxBytes)
      throw new Error(`stateToChunks: chunk ${index} is ${bytes} bytes, over ${maxBytes} (estimate bug)`);
    const text = assembleText(skeleton, chunk);
    if (text !== undefined) rememberEncoding(message, text);
    return message;
  });
}

/** How every response's text begins: `toMessage` puts these keys first, in this order. */
const HEAD = '{"msg_type":"state_reconciliation_response","watch_progress":[],"watchlist":[]';

/**
 * `JSON.stringify(message)` from pieces already made: the skeleton (the message with both item
 * arrays empty) with the items' texts put into its arrays. `JSON.stringify` writes an array as
 * its items' texts joined by commas, so this is the same string (a property test compares them).
 */
function assembleText(skeleton: string, chunk: Chunk): string | undefined {
  if (!skeleton.startsWith(HEAD)) return undefined;
  return `{"msg_type":"state_reconciliation_response","watch_progress":[${chunk.progressTexts.join(",")}],"watchlist":[${chunk.watchlistTexts.join(",")}]${skeleton.slice(HEAD.length)}`;
}

/**
 * UTF-8 bytes of `encodeMessage(message)` without encoding its items again: their bytes were
 * measured when they were packed (`itemBytes`). `JSON.stringify` writes an array as its items'
 * texts joined by commas between `[` and `]`, and UTF-8 length adds up over pieces of
 * well-formed text (`JSON.stringify` escapes lone surrogates), so the text is the message's
 * with both item arrays empty, plus the items and their commas.
 */
function messageBytes(
  message: StateReconciliationResponseMessage,
  skeleton: string,
  itemBytes: number,
): number {
  const commas = Math.max(0, message.watch_progress.length - 1) + Math.max(0, message.watchlist.length - 1);
  const bytes = encodedByteLength(skeleton) + itemBytes + commas;
  // Over the transport limit (a `maxBytes` above it): `encodeMessage` throws its RangeError.
  if (bytes > MAX_MESSAGE_BYTES) encodeMessage(message);
  return bytes;
}

/** Fills chunks in order; opens a new one when the next item does not fit. */
class Packer {
  readonly chunks: Chunk[] = [newChunk()];

  constructor(
    private readonly budget: number,
    private readonly maxBytes: number,
  ) {}

  get current(): Chunk {
    return this.chunks[this.chunks.length - 1]!;
  }

  fits(cost: number): boolean {
    return this.current.used + cost <= this.budget;
  }

  /** Makes room for `cost` bytes (in a new chunk if need be) and returns the chunk that has it. */
  reserve(cost: number, what: string): Chunk {
    if (cost > this.budget) {
      throw new RangeError(
        `stateToChunks: ${what} needs ${cost} bytes, more than a ${this.maxBytes}-byte message holds`,
      );
    }
    if (!this.fits(cost)) this.chunks.push(newChunk());
    const chunk = this.current;
    chunk.used += cost;
    return chunk;
  }

  startNew(): void {
    this.chunks.push(newChunk());
  }
}

/**
 * Cuts each replica's counter space into intervals, filling the current chunk with context
 * ranges and the live dots inside them, and cutting a range between two dots when full.
 */
function packWatchlist(state: UserSyncState, packer: Packer): void {
  const set = state.watchlist;
  const replicas = [...ccRanges(set.context)].sort(byKey);
  const liveByReplica = liveDots(set.entries);
  for (const [replica, ranges] of replicas) {
    const live = liveByReplica.get(replica) ?? [];
    live.sort(byCounter);
    const keyCost = jsonBytes(replica) + 4; // "r":[ … ],
    /** Reserves room for a context piece starting at `from` and returns the chunk holding it. */
    const openPiece = (from: number, to: number): Chunk => {
      const cost = (packer.current.context.has(replica) ? 0 : keyCost) + rangeBytes(from, to);
      const fresh = !packer.fits(cost);
      const chunk = packer.reserve(
        fresh ? keyCost + rangeBytes(from, to) : cost,
        `the context of ${replica}`,
      );
      if (!chunk.context.has(replica)) chunk.context.set(replica, []);
      return chunk;
    };
    let next = 0; // index into `live`
    for (const [from, to] of ranges) {
      let start = from;
      let chunk = openPiece(start, to);
      while (next < live.length && live[next]!.dot.counter <= to) {
        const { element: contentId, dot } = live[next]!;
        const counter = dot.counter;
        next++;
        const message = addMessage(dot, contentId);
        const text = JSON.stringify(message);
        const bytes = encodedByteLength(text);
        const cost = bytes + 1;
        if (!packer.fits(cost)) {
          // Close this chunk's piece just before the dot; the range goes on in a new chunk.
          if (counter - 1 >= start) chunk.context.get(replica)!.push([start, counter - 1]);
          packer.startNew();
          start = counter;
          chunk = openPiece(start, to);
          // The entry must share a chunk with the piece that speaks for its dot.
          if (!packer.fits(cost)) {
            throw new RangeError(
              `stateToChunks: watchlist entry ${contentId} needs ${cost} bytes, more than a chunk holds`,
            );
          }
        }
        const holder = packer.reserve(cost, `watchlist entry ${contentId}`);
        holder.watchlist.push(message);
        holder.watchlistTexts.push(text);
        holder.itemBytes += bytes;
      }
      chunk.context.get(replica)!.push([start, to]);
    }
  }
}

/** Live dots by replica (each with its element), read from the entries in one pass. */
function liveDots(entries: UserSyncState["watchlist"]["entries"]): Map<string, LiveDot[]> {
  const out = new Map<string, LiveDot[]>();
  for (const [element, dots] of entries) {
    for (const dot of dots) {
      const list = out.get(dot.replica);
      if (list === undefined) out.set(dot.replica, [{ element, dot }]);
      else list.push({ element, dot });
    }
  }
  return out;
}

interface LiveDot {
  readonly element: string;
  readonly dot: OrSetDot;
}

function byCounter(x: LiveDot, y: LiveDot): number {
  return x.dot.counter - y.dot.counter;
}

function addMessage(dot: OrSetDot, contentId: string): WatchlistUpdateMessage {
  const { replica, counter } = dot;
  const item = dot.payload as WatchlistItem | undefined;
  if (item === undefined)
    throw new TypeError(`stateToChunks: watchlist dot ${replica}:${counter} has no item payload`);
  const unique_tag = `${replica}:${counter}`;
  // Two literals rather than a spread: the same keys in the same order, built in one step.
  return item.content_metadata === undefined
    ? {
        msg_type: "watchlist_update",
        operation: "Add",
        content_id: contentId,
        timestamp: item.added_at,
        device_id: item.added_by,
        unique_tag,
        dot: [replica, counter],
      }
    : {
        msg_type: "watchlist_update",
        operation: "Add",
        content_id: contentId,
        timestamp: item.added_at,
        device_id: item.added_by,
        unique_tag,
        dot: [replica, counter],
        content_metadata: item.content_metadata,
      };
}

function newChunk(): Chunk {
  return {
    watch_progress: [],
    watchlist: [],
    preferences: null,
    devices: [],
    context: new Map(),
    used: 0,
    progressTexts: [],
    watchlistTexts: [],
    itemBytes: 0,
  };
}

function toMessage(
  chunk: Chunk,
  index: number,
  count: number,
  options: StateToChunksOptions,
): StateReconciliationResponseMessage {
  const watchlist_context: Record<string, CounterRange[]> = {};
  for (const [replica, ranges] of chunk.context)
    if (ranges.length > 0) setOwn(watchlist_context, replica, ranges);
  return {
    msg_type: "state_reconciliation_response",
    watch_progress: chunk.watch_progress,
    watchlist: chunk.watchlist,
    preferences: chunk.preferences,
    devices: chunk.devices,
    server_timestamp: options.serverTimestamp,
    watchlist_context,
    ...(options.requestId === undefined ? {} : { request_id: options.requestId }),
    ...(options.responderDeviceId === undefined ? {} : { responder_device_id: options.responderDeviceId }),
    chunk: { index, count },
  };
}

/** The bytes of a response with nothing in it, at the widest chunk numbers. */
function envelopeBytes(options: StateToChunksOptions): number {
  return encodedByteLength(encodeMessage(toMessage(newChunk(), MAX_CHUNKS - 1, MAX_CHUNKS, options)));
}

function rangeBytes(from: number, to: number): number {
  return String(from).length + String(to).length + 4; // [a,b],
}

function jsonBytes(value: unknown): number {
  return encodedByteLength(JSON.stringify(value));
}

function sortedEntries<V>(entries: ReadonlyMap<string, V>): Array<[string, V]> {
  return [...entries].sort(byKey);
}

function byKey(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
