/**
 * The one interface every transport adapter implements (in-memory simulation, WebSocket hub,
 * PubNub). Shaped after what PubNub offers, so the PubNub adapter stays thin; the sync client
 * reaches the network only through it. Types only, plus the small pure helpers every adapter
 * needs (timetoken order, the typed error).
 *
 * ## What an implementation guarantees
 * - **At least once**: a message whose `publish` resolved is delivered to every subscriber of its
 *   channel that stays subscribed, possibly more than once. Duplicates are the receiver's
 *   problem (CRDT deltas are idempotent; commands carry ids — DEVIATIONS 6).
 * - **FIFO per publisher per channel**: two messages one client published on one channel, the
 *   second after the first resolved, arrive in that order. Nothing is promised across
 *   publishers or channels.
 * - **Timetokens increase per channel**: every stored message gets a timetoken greater than every
 *   earlier one on its channel; history is ordered by it, oldest first.
 * - **Acknowledged means stored**: when a channel keeps history, `publish` resolves only after
 *   the message is in it.
 * - **Catch-up after a reconnect**: the transport resubscribes by itself and delivers what it
 *   missed from history, then emits `reconnected`; if history no longer reaches back to the last
 *   timetoken it saw, it says so (`gap: true`), and the client reconciles.
 * - **Limits are typed errors**: a payload over `maxMessageBytes` (encoded as JSON, UTF-8)
 *   rejects with `TransportError` code `payload_too_large` before anything is sent.
 */

/**
 * PubNub's timetoken: a decimal string of 100-ns ticks since the Unix epoch (17 digits today).
 * Strings, because the value does not fit a JavaScript number. Compare with `timetokenCompare`.
 */
export type Timetoken = string;

/** Orders timetokens numerically (a shorter decimal string is smaller). */
export function timetokenCompare(a: Timetoken, b: Timetoken): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isTimetoken(value: unknown): value is Timetoken {
  return typeof value === "string" && /^(0|[1-9][0-9]{0,19})$/.test(value);
}

/** The timetoken of a wall-clock time in milliseconds (as PubNub makes "now": ms followed by 0000). */
export function timetokenFromMs(ms: number): Timetoken {
  return ms <= 0 ? "0" : `${Math.floor(ms)}0000`;
}

/** Milliseconds of a timetoken (rounded down). */
export function timetokenToMs(timetoken: Timetoken): number {
  return timetoken.length <= 4 ? 0 : Number(timetoken.slice(0, -4));
}

/** A message as delivered to a listener or returned by history. */
export interface TransportMessage {
  readonly channel: string;
  /** The channel group (or the channel itself) the subscription matched. */
  readonly subscription: string;
  readonly timetoken: Timetoken;
  /** The publishing client's id (PubNub's `uuid` / `userId`). */
  readonly publisher: string;
  /** The JSON value as published. */
  readonly payload: unknown;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export type PresenceAction = "join" | "leave" | "timeout" | "state-change";

/** A presence event on a channel subscribed `withPresence` (PubNub's `<channel>-pnpres`). */
export interface TransportPresenceEvent {
  /** The data channel, without `-pnpres`. */
  readonly channel: string;
  readonly action: PresenceAction;
  /** The client the event is about. */
  readonly uuid: string;
  /** Occupants of the channel after the event. */
  readonly occupancy: number;
  /** When it happened, milliseconds since the epoch on the server's clock. */
  readonly timestampMs: number;
  readonly timetoken: Timetoken;
  /** The client's presence state (join, state-change). */
  readonly state?: unknown;
}

export type TransportStatus =
  | {
      readonly type: "connected";
      readonly channels: readonly string[];
      readonly channelGroups: readonly string[];
    }
  | { readonly type: "disconnected"; readonly reason: string }
  /**
   * Back after a disconnect, subscriptions restored. `lastTimetoken` is the newest timetoken seen
   * before the disconnect; `gap` is true when the transport could not deliver everything since
   * (history did not reach back), so the client must reconcile (DEVIATIONS 9).
   */
  | { readonly type: "reconnected"; readonly lastTimetoken: Timetoken | undefined; readonly gap: boolean }
  | {
      readonly type: "access-denied";
      readonly operation: TransportOperation;
      readonly channels: readonly string[];
      readonly message: string;
    };

export type TransportOperation =
  | "publish"
  | "subscribe"
  | "history"
  | "presence"
  | "channel-group"
  | "unsubscribe"
  | "close";

export type TransportErrorCode =
  | "payload_too_large"
  | "access_denied"
  | "invalid_argument"
  | "not_found"
  | "rate_limited"
  | "queue_full"
  | "network"
  | "closed"
  | "server";

/** Every transport failure, typed: the code says what to do, the message says what happened. */
export class TransportError extends Error {
  override readonly name = "TransportError";
  readonly code: TransportErrorCode;
  readonly operation: TransportOperation;
  /** Whether retrying the same call later may succeed (network trouble, rate limits, server errors). */
  readonly retryable: boolean;

  constructor(code: TransportErrorCode, operation: TransportOperation, message: string) {
    super(`${operation}: ${message}`);
    this.code = code;
    this.operation = operation;
    this.retryable = code === "network" || code === "rate_limited" || code === "server";
  }
}

export interface PublishOptions {
  readonly meta?: Readonly<Record<string, unknown>>;
  /** Keep the message in history (default true; the channel's retention still applies). */
  readonly storeInHistory?: boolean;
}

export interface SubscribeOptions {
  readonly channels?: readonly string[];
  readonly channelGroups?: readonly string[];
  /** Also deliver presence events of these channels. */
  readonly withPresence?: boolean;
}

/**
 * PubNub's history range: `start` is exclusive (messages older than it), `end` inclusive.
 * With only `end`: from the newest back to `end`. With only `start`: the newest `count`
 * older than `start`. Results are oldest first.
 */
export interface HistoryOptions {
  readonly start?: Timetoken;
  readonly end?: Timetoken;
  /** At most this many (default and cap: 100, PubNub's). */
  readonly count?: number;
}

export interface HistoryResult {
  readonly messages: readonly TransportMessage[];
}

export interface HeartbeatOptions {
  readonly channels?: readonly string[];
  readonly channelGroups?: readonly string[];
  /**
   * How often this client promises a heartbeat. The server marks it timed out after two missed
   * intervals of its own (DEVIATIONS 7), not after a fixed global timeout.
   */
  readonly intervalSeconds: number;
  readonly state?: unknown;
}

export interface HereNowOccupant {
  readonly uuid: string;
  readonly state?: unknown;
}

export interface HereNowResult {
  readonly channels: Readonly<
    Record<string, { readonly occupancy: number; readonly occupants: readonly HereNowOccupant[] }>
  >;
}

export interface TransportListener {
  readonly message?: (message: TransportMessage) => void;
  readonly presence?: (event: TransportPresenceEvent) => void;
  readonly status?: (status: TransportStatus) => void;
}

export interface Transport {
  /** This client's id: the `publisher` of what it sends and the `uuid` in presence. */
  readonly clientId: string;
  /** The largest payload `publish` accepts, in UTF-8 bytes of its JSON. */
  readonly maxMessageBytes: number;

  publish(
    channel: string,
    payload: unknown,
    options?: PublishOptions,
  ): Promise<{ readonly timetoken: Timetoken }>;
  /** Resolves once the subscription is live (after `connected` for the first one). */
  subscribe(options: SubscribeOptions): Promise<void>;
  unsubscribe(options: SubscribeOptions): Promise<void>;
  history(channel: string, options?: HistoryOptions): Promise<HistoryResult>;

  heartbeat(options: HeartbeatOptions): Promise<void>;
  setState(options: { readonly channels: readonly string[]; readonly state: unknown }): Promise<void>;
  hereNow(options: {
    readonly channels: readonly string[];
    readonly includeState?: boolean;
  }): Promise<HereNowResult>;
  /** Leaves presence on these channels (a `leave` event now, not a timeout later). */
  leave(options: {
    readonly channels?: readonly string[];
    readonly channelGroups?: readonly string[];
  }): Promise<void>;

  addChannelsToGroup(group: string, channels: readonly string[]): Promise<void>;
  removeChannelsFromGroup(group: string, channels: readonly string[]): Promise<void>;
  listChannelsInGroup(group: string): Promise<readonly string[]>;
  deleteChannelGroup(group: string): Promise<void>;

  /** Adds a listener; returns the function that removes it. */
  addListener(listener: TransportListener): () => void;
  /** Unsubscribes from everything and releases every resource. Idempotent. */
  close(): Promise<void>;
}
