/**
 * The hub's wire protocol, shared by the client (`WsTransport`) and the server (`WsHub`):
 * every frame is one JSON object in one WebSocket text frame. `docs/protocol.md` ("WebSocket
 * hub") is the normative description; a test drives the hub with a client written from that
 * text alone, so a change here is a change there.
 *
 * Browser-safe: no `node:` imports.
 */
import type {
  TransportPresenceAction as PresenceAction,
  Timetoken,
  TransportErrorCode,
  TransportOperation,
} from "@mg-sync/crdt-core";

/** Sent in `hello`; a hub refuses a version it does not speak. */
export const PROTOCOL_VERSION = 1;
/** The HTTP path WebSocket upgrades are accepted on. */
export const HUB_PATH = "/v1";

// ---------------------------------------------------------------------------------------------
// Close codes. 1000–1015 are RFC 6455's; 4000–4999 are ours, numbered after the HTTP status
// they resemble so a log reader guesses them right.

/** The client closed, or the hub closed a connection it was asked to. */
export const CLOSE_NORMAL = 1000;
/** Graceful shutdown: the hub flushed what it owed and is going away. Reconnect later. */
export const CLOSE_SHUTDOWN = 1001;
/** A binary frame: the protocol is JSON text only. */
export const CLOSE_BINARY_FRAME = 1003;
/** A frame over the hub's `maxFrameBytes` (sent by the `ws` library itself). */
export const CLOSE_FRAME_TOO_LARGE = 1009;
/** Protocol violation: a frame before `hello`, or too many malformed frames. */
export const CLOSE_PROTOCOL_ERROR = 4400;
/** Authentication failed at `hello`, or the token expired while connected. Get a new token. */
export const CLOSE_UNAUTHORIZED = 4401;
/** The connection's token was revoked. */
export const CLOSE_TOKEN_REVOKED = 4403;
/** No `hello` within the hub's `helloTimeoutMs`. */
export const CLOSE_HELLO_TIMEOUT = 4408;
/** The connection's unsent data passed the hub's `maxBufferedBytes`: a consumer too slow to keep up. */
export const CLOSE_SLOW_CONSUMER = 4429;

// ---------------------------------------------------------------------------------------------
// Error codes carried by error replies.

export type HubErrorCode =
  /** Not JSON, not an object, or a field of the wrong type. */
  | "bad_frame"
  /** `op` names no operation this hub knows. */
  | "unknown_op"
  /** `hello` failed, or a call came before it. */
  | "unauthenticated"
  /** The token does not grant the permission the call needs. */
  | "access_denied"
  /** Well-formed, but a value is not allowed (a channel name, a range, a limit). */
  | "invalid_argument"
  /** The published payload is over `maxMessageBytes`. */
  | "payload_too_large"
  /** Too many subscriptions or channels for one connection or group. */
  | "limit_exceeded"
  /** The hub is shutting down; the call was not carried out. Retry on another connection. */
  | "shutting_down"
  /** The hub failed (its store, a bug); the call may or may not have been carried out. */
  | "server";

export const HUB_ERROR_CODES: readonly HubErrorCode[] = [
  "bad_frame",
  "unknown_op",
  "unauthenticated",
  "access_denied",
  "invalid_argument",
  "payload_too_large",
  "limit_exceeded",
  "shutting_down",
  "server",
];

/** How a hub error surfaces through the `Transport` interface. */
export function transportErrorCodeOf(code: HubErrorCode): TransportErrorCode {
  switch (code) {
    case "access_denied":
    case "unauthenticated":
      return "access_denied";
    case "payload_too_large":
      return "payload_too_large";
    case "limit_exceeded":
      return "rate_limited";
    case "shutting_down":
      return "network";
    case "server":
      return "server";
    default:
      return "invalid_argument";
  }
}

// ---------------------------------------------------------------------------------------------
// Client → hub

export type HubOp =
  | "hello"
  | "ping"
  | "publish"
  | "subscribe"
  | "unsubscribe"
  | "history"
  | "heartbeat"
  | "setState"
  | "hereNow"
  | "leave"
  | "groupAdd"
  | "groupRemove"
  | "groupList"
  | "groupDelete";

export const HUB_OPS: readonly HubOp[] = [
  "hello",
  "ping",
  "publish",
  "subscribe",
  "unsubscribe",
  "history",
  "heartbeat",
  "setState",
  "hereNow",
  "leave",
  "groupAdd",
  "groupRemove",
  "groupList",
  "groupDelete",
];

/** The `Transport` operation each hub op belongs to (for errors and `access-denied` status). */
export const OPERATION_OF_OP: Readonly<Record<HubOp, TransportOperation>> = {
  hello: "subscribe",
  ping: "subscribe",
  publish: "publish",
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  history: "history",
  heartbeat: "presence",
  setState: "presence",
  hereNow: "presence",
  leave: "presence",
  groupAdd: "channel-group",
  groupRemove: "channel-group",
  groupList: "channel-group",
  groupDelete: "channel-group",
};

export interface HelloRequest {
  readonly op: "hello";
  readonly id: number;
  readonly protocol: number;
  readonly clientId: string;
  readonly token?: string;
}

export interface PingRequest {
  readonly op: "ping";
  readonly id: number;
}

export interface PublishRequest {
  readonly op: "publish";
  readonly id: number;
  readonly channel: string;
  readonly payload: unknown;
  readonly meta?: Readonly<Record<string, unknown>>;
  /** Keep in history (default true). */
  readonly store?: boolean;
}

export interface SubscribeRequest {
  readonly op: "subscribe";
  readonly id: number;
  readonly channels?: readonly string[];
  readonly groups?: readonly string[];
  /** Also deliver presence events of these channels (and of the groups' channels). */
  readonly presence?: boolean;
  /** Per channel, the newest timetoken the client holds: retained later messages are replayed. */
  readonly since?: Readonly<Record<string, Timetoken>>;
}

export interface UnsubscribeRequest {
  readonly op: "unsubscribe";
  readonly id: number;
  readonly channels?: readonly string[];
  readonly groups?: readonly string[];
}

export interface HistoryRequest {
  readonly op: "history";
  readonly id: number;
  readonly channel: string;
  readonly start?: Timetoken;
  readonly end?: Timetoken;
  readonly count?: number;
}

export interface HeartbeatRequest {
  readonly op: "heartbeat";
  readonly id: number;
  readonly channels?: readonly string[];
  readonly groups?: readonly string[];
  /** Seconds between this client's heartbeats (DEVIATIONS 7). */
  readonly interval: number;
  readonly state?: unknown;
}

export interface SetStateRequest {
  readonly op: "setState";
  readonly id: number;
  readonly channels: readonly string[];
  readonly state: unknown;
}

export interface HereNowRequest {
  readonly op: "hereNow";
  readonly id: number;
  readonly channels: readonly string[];
  readonly state?: boolean;
}

export interface LeaveRequest {
  readonly op: "leave";
  readonly id: number;
  readonly channels?: readonly string[];
  readonly groups?: readonly string[];
}

export interface GroupChannelsRequest {
  readonly op: "groupAdd" | "groupRemove";
  readonly id: number;
  readonly group: string;
  readonly channels: readonly string[];
}

export interface GroupRequest {
  readonly op: "groupList" | "groupDelete";
  readonly id: number;
  readonly group: string;
}

export type HubRequest =
  | HelloRequest
  | PingRequest
  | PublishRequest
  | SubscribeRequest
  | UnsubscribeRequest
  | HistoryRequest
  | HeartbeatRequest
  | SetStateRequest
  | HereNowRequest
  | LeaveRequest
  | GroupChannelsRequest
  | GroupRequest;

// ---------------------------------------------------------------------------------------------
// Hub → client

export interface HelloResult {
  readonly protocol: number;
  readonly connectionId: string;
  readonly clientId: string;
  /** The token's user id; `null` on an insecure hub. */
  readonly userId: string | null;
  /** When the token expires (ms since the epoch); `null` without one. */
  readonly tokenExpiresAtMs: number | null;
  readonly timetoken: Timetoken;
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly minHeartbeatIntervalSec: number;
  readonly maxHeartbeatIntervalSec: number;
}

/** Per channel, in a subscribe reply. */
export interface SubscribedChannel {
  /**
   * The newest timetoken the client is now caught up to on this channel: the last replayed
   * message's, or the channel's head when there was nothing to replay. Send it as `since`
   * after a reconnect.
   */
  readonly timetoken: Timetoken;
  /** Messages after `since` were lost to retention (or to a hub restart): reconcile. */
  readonly gap: boolean;
  /** How many messages were replayed from history before this reply. */
  readonly replayed: number;
}

export interface SubscribeResult {
  readonly channels: Readonly<Record<string, SubscribedChannel>>;
  /** Each subscribed group's channels that this connection may read. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

export interface HubError {
  readonly code: HubErrorCode;
  readonly message: string;
}

export type ReplyFrame =
  | { readonly id: number | null; readonly ok: true; readonly result: unknown }
  | { readonly id: number | null; readonly ok: false; readonly error: HubError };

export interface MessageFrame {
  readonly type: "message";
  readonly channel: string;
  readonly subscription: string;
  readonly timetoken: Timetoken;
  readonly publisher: string;
  readonly payload: unknown;
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface PresenceFrame {
  readonly type: "presence";
  readonly channel: string;
  readonly action: PresenceAction;
  readonly uuid: string;
  readonly occupancy: number;
  readonly timestampMs: number;
  readonly timetoken: Timetoken;
  readonly state?: unknown;
}

export type StatusFrame =
  /** Sent before a graceful-shutdown close (1001). */
  | { readonly type: "status"; readonly event: "shutdown" }
  /**
   * A subscribed group's channels changed. New channels are live from `timetokens[channel]`
   * (use it as the channel's `since` after a reconnect); removed ones are no longer delivered.
   */
  | {
      readonly type: "status";
      readonly event: "group-changed";
      readonly group: string;
      readonly added: readonly string[];
      readonly removed: readonly string[];
      readonly timetokens: Readonly<Record<string, Timetoken>>;
    };

export type ServerFrame = ReplyFrame | MessageFrame | PresenceFrame | StatusFrame;
