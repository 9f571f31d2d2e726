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
import type { DeviceHeartbeatMessage } from "./messages/devices.js";
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
      packer.reserve(jsonBytes(message) + 1, `progress of ${contentId}`).watch_progress.push(message);
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
    const bytes = encodedByteLength(encodeMessage(message));
    if (bytes > maxBytes)
      throw new Error(`stateToChunks: chunk ${index} is ${bytes} bytes, over ${maxBytes} (estimate bug)`);
    return message;
  });
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
  const replicas = [...ccRanges(set.context)].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  for (const [replica, ranges] of replicas) {
    const live = [...(set.index.get(replica) ?? new Map<number, string>())].sort(([x], [y]) => x - y);
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
      while (next < live.length && live[next]![0] <= to) {
        const [counter, contentId] = live[next]!;
        next++;
        const message = addMessage(state, replica, counter, contentId);
        const cost = jsonBytes(message) + 1;
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
        packer.reserve(cost, `watchlist entry ${contentId}`).watchlist.push(message);
      }
      chunk.context.get(replica)!.push([start, to]);
    }
  }
}

function addMessage(
  state: UserSyncState,
  replica: string,
  counter: number,
  contentId: string,
): WatchlistUpdateMessage {
  const dots = state.watchlist.entries.get(contentId)!;
  const dot = dots.find((d) => d.replica === replica && d.counter === counter)!;
  const item = dot.payload as WatchlistItem | undefined;
  if (item === undefined)
    throw new TypeError(`stateToChunks: watchlist dot ${replica}:${counter} has no item payload`);
  const message: WatchlistUpdateMessage = {
    msg_type: "watchlist_update",
    operation: "Add",
    content_id: contentId,
    timestamp: item.added_at,
    device_id: item.added_by,
    unique_tag: `${replica}:${counter}`,
    dot: [replica, counter],
  };
  return item.content_metadata === undefined
    ? message
    : { ...message, content_metadata: item.content_metadata };
}

function newChunk(): Chunk {
  return { watch_progress: [], watchlist: [], preferences: null, devices: [], context: new Map(), used: 0 };
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
  return [...entries].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}
