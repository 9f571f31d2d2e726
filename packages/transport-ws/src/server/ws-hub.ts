/**
 * `WsHub`: the WebSocket sync hub, the spec's device gateway (1.1) for deployments without
 * PubNub. Plain code in the manner of `ws`'s `websocket-server.js`: every limit is an option
 * with a documented default, and each has a test that hits it (test/hub-limits.test.ts).
 *
 * The wire protocol is docs/protocol.md, "WebSocket hub". The three things several hub
 * processes will share later (history, fan-out, presence) plus channel groups sit behind
 * interfaces (ARCHITECTURE.md); the defaults keep them in this process.
 *
 * Guarantees it keeps (crdt-core `transport.ts`):
 * - acknowledged means stored: a publish is answered with its timetoken after `history.append`
 *   and fan-out;
 * - per-channel order: appends and fan-out of one channel run one at a time (`#onChannel`),
 *   so subscribers see each channel in timetoken order, and per-publisher FIFO follows from
 *   processing each connection's requests one at a time;
 * - catch-up without gaps: a subscriber is registered (buffering) BEFORE history is read, so
 *   every message is either in what it reads or in what it buffered; buffered messages already
 *   replayed are skipped (at least once, never a gap).
 */
import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  type ChannelRetention,
  PRESENCE_SUFFIX,
  type Timetoken,
  timetokenCompare,
  timetokenFromMs,
} from "@mg-sync/crdt-core";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import {
  CLOSE_BINARY_FRAME,
  CLOSE_FRAME_TOO_LARGE,
  CLOSE_HELLO_TIMEOUT,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_SHUTDOWN,
  CLOSE_SLOW_CONSUMER,
  CLOSE_TOKEN_REVOKED,
  CLOSE_UNAUTHORIZED,
  type GroupChannelsRequest,
  type GroupRequest,
  type HeartbeatRequest,
  type HelloRequest,
  type HelloResult,
  type HereNowRequest,
  type HistoryRequest,
  HUB_PATH,
  type HubErrorCode,
  type HubRequest,
  type LeaveRequest,
  PROTOCOL_VERSION,
  type PublishRequest,
  type SetStateRequest,
  type SubscribedChannel,
  type SubscribeRequest,
  type SubscribeResult,
  type UnsubscribeRequest,
} from "../frames.js";
import { type ChannelGroupStore, MemoryChannelGroupStore } from "./channel-group-store.js";
import { type FanOut, type FanOutItem, LocalFanOut } from "./fan-out.js";
import { type HistoryStore, type HubMessage, MemoryHistoryStore } from "./history-store.js";
import { defaultRetention } from "./hub-names.js";
import { type HubLogger, jsonLineLogger } from "./log.js";
import { emptyCounters, encodePrometheus, type HubCounters, hubMetrics, increment } from "./metrics.js";
import {
  MemoryPresenceTable,
  type PresenceChange,
  type PresenceTable,
  type PresenceTouch,
} from "./presence-table.js";
import { parseRequest, type RequestLimits } from "./requests.js";
import {
  grantsAllowChannel,
  grantsAllowGroup,
  MIN_SECRET_BYTES,
  type Permission,
  type TokenClaims,
  verifyToken,
} from "./tokens.js";

export interface WsHubOptions {
  /** HMAC-SHA-256 key for tokens (at least 32 bytes). Required unless `insecure`. */
  readonly secret?: string | Uint8Array;
  /** No access control at all: any client may do anything. Logged loudly. Default false. */
  readonly insecure?: boolean;
  /** Largest published payload, in UTF-8 bytes of its JSON. Default 32 768 (PubNub's, DEVIATIONS 9). */
  readonly maxMessageBytes?: number;
  /** Largest frame the hub reads; a larger one closes the connection with 1009. Default 65 536. */
  readonly maxFrameBytes?: number;
  /** Unsent bytes a connection may hold before it is closed as a slow consumer (4429). Default 4 MiB. */
  readonly maxBufferedBytes?: number;
  /** Requests read but not yet answered per connection; past it the hub stops reading the socket. Default 256. */
  readonly maxPendingRequests?: number;
  /** Channels one connection may be subscribed to (groups expanded). Default 1 000. */
  readonly maxSubscriptionsPerConnection?: number;
  /** Channels or groups one request may name. Default 500. */
  readonly maxNamesPerRequest?: number;
  /** Channels one group may hold. Default 2 000 (PubNub's). */
  readonly maxChannelsPerGroup?: number;
  /** Open connections; more upgrades are refused with HTTP 503. Default 10 000. */
  readonly maxConnections?: number;
  /** Malformed frames tolerated per connection before it is closed with 4400. Default 20. */
  readonly maxBadFrames?: number;
  /** Time a new connection has to send `hello` before it is closed with 4408. Default 10 000 ms. */
  readonly helloTimeoutMs?: number;
  /** How often the hub pings; a connection silent for a whole interval is dropped. Default 30 000 ms. */
  readonly pingIntervalMs?: number;
  /** Time a closing connection gets to finish the close handshake before it is cut. Default 5 000 ms. */
  readonly closeTimeoutMs?: number;
  /** Time `close()` waits for requests in flight and close handshakes. Default 10 000 ms. */
  readonly shutdownTimeoutMs?: number;
  /** How often presence timeouts are checked. Default 1 000 ms. */
  readonly presenceSweepIntervalMs?: number;
  /** How often history past its retention age is dropped. Default 60 000 ms. */
  readonly historySweepIntervalMs?: number;
  /** Heartbeat interval of a client that never announced one (spec 8.1). Default 30 s. */
  readonly defaultHeartbeatIntervalSec?: number;
  /** Smallest heartbeat interval a client may announce. Default 1 s. */
  readonly minHeartbeatIntervalSec?: number;
  /** Largest heartbeat interval a client may announce. Default 3 600 s. */
  readonly maxHeartbeatIntervalSec?: number;
  /** Messages read from history per page during a catch-up. Default 100. */
  readonly replayPageSize?: number;
  /** History retention per channel. Default: spec 9.1 (`defaultRetention`). */
  readonly retention?: (channel: string) => ChannelRetention;
  readonly history?: HistoryStore;
  readonly fanOut?: FanOut;
  readonly presence?: PresenceTable;
  readonly groups?: ChannelGroupStore;
  /** Default: JSON lines on stderr, warnings and errors only. */
  readonly logger?: HubLogger;
  /** Wall clock in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** HTTP path of WebSocket upgrades. Default `/v1`. */
  readonly path?: string;
}

export interface HubStats {
  readonly connections: number;
  readonly subscriptions: number;
  readonly historyMessages: number;
  readonly presenceOccupants: number;
  readonly connectionsOpened: number;
  readonly messagesIn: number;
  /** Message frames sent, live and replayed. */
  readonly messagesOut: number;
  readonly presenceEventsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly authFailures: number;
  readonly accessDenied: number;
  readonly slowConsumerCloses: number;
  readonly deadSockets: number;
}

export const WS_HUB_DEFAULTS = Object.freeze({
  maxMessageBytes: 32_768,
  maxFrameBytes: 65_536,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxPendingRequests: 256,
  maxSubscriptionsPerConnection: 1_000,
  maxNamesPerRequest: 500,
  maxChannelsPerGroup: 2_000,
  maxConnections: 10_000,
  maxBadFrames: 20,
  helloTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
  closeTimeoutMs: 5_000,
  shutdownTimeoutMs: 10_000,
  presenceSweepIntervalMs: 1_000,
  historySweepIntervalMs: 60_000,
  defaultHeartbeatIntervalSec: 30,
  minHeartbeatIntervalSec: 1,
  maxHeartbeatIntervalSec: 3_600,
  replayPageSize: 100,
});

type Limits = { -readonly [K in keyof typeof WS_HUB_DEFAULTS]: number };

/** A call the hub refuses; becomes an error reply. */
class CallError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface ChannelSubscription {
  /** What the subscription came through: the channel itself (first) and/or groups. */
  readonly via: string[];
  presence: boolean;
  /** Live messages held while history is replayed; `null` once live. */
  buffer: HubMessage[] | null;
}

type QueueItem =
  | { readonly kind: "request"; readonly request: HubRequest; readonly bytes: number }
  | { readonly kind: "task"; readonly run: () => Promise<void> };

/** Bytes a connection's corked writes may reach in one loop turn before they are sent anyway. */
const MAX_CORKED_BYTES = 64 * 1024;

class Connection {
  readonly subs = new Map<string, ChannelSubscription>();
  /** Subscribed groups, with whether they were subscribed with presence. */
  readonly groups = new Map<string, boolean>();
  /** Channels where this connection holds its client's presence. */
  readonly presenceHeld = new Set<string>();
  readonly queue: QueueItem[] = [];
  clientId = "";
  claims: TokenClaims | undefined;
  authenticated = false;
  busy = false;
  paused = false;
  /** The hub decided to close it; nothing more is sent. */
  closing = false;
  /** The hub, not the client, ended it (so presence times out instead of leaving). */
  closedByHub = false;
  closed = false;
  alive = true;
  badFrames = 0;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  terminateTimer: ReturnType<typeof setTimeout> | undefined;
  /** Its TCP socket is corked until the hub's next flush (see `#cork`). */
  corked = false;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #closeWaiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly socket: WebSocket,
    /** The TCP socket under `socket`, which `ws` writes each frame to. */
    readonly wire: Duplex,
    readonly remote: string,
    public lastSeenMs: number,
  ) {}

  /** Resolves when no request is queued or running. */
  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  notifyIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  notifyClosed(): void {
    this.closed = true;
    this.notifyIdle();
    for (const resolve of this.#closeWaiters.splice(0)) resolve();
  }
}

function checkPositive(name: string, value: number, integer: boolean): void {
  if (
    typeof value !== "number" ||
    !(value > 0) ||
    !Number.isFinite(value) ||
    (integer && !Number.isSafeInteger(value))
  )
    throw new RangeError(
      `WsHub: ${name} must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`,
    );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

function rawText(data: RawData): { text: string; bytes: number } {
  if (Array.isArray(data)) {
    const buffer = Buffer.concat(data);
    return { text: buffer.toString("utf8"), bytes: buffer.byteLength };
  }
  const buffer = data instanceof ArrayBuffer ? Buffer.from(data) : data;
  return { text: buffer.toString("utf8"), bytes: buffer.byteLength };
}

/** Close reasons are limited to 123 bytes by RFC 6455. */
function closeReason(reason: string): string {
  return Buffer.byteLength(reason) <= 123 ? reason : Buffer.from(reason).subarray(0, 120).toString("utf8");
}

export class WsHub {
  readonly #limits: Limits;
  readonly #secret: Uint8Array | undefined;
  readonly #insecure: boolean;
  readonly #retention: (channel: string) => ChannelRetention;
  readonly #history: HistoryStore;
  readonly #fanOut: FanOut;
  readonly #presence: PresenceTable;
  readonly #groups: ChannelGroupStore;
  readonly #log: HubLogger;
  readonly #now: () => number;
  readonly #path: string;
  readonly #requestLimits: RequestLimits;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Map<string, Connection>();
  /** Connections whose TCP socket is corked until the flush at the end of this loop turn. */
  readonly #corked: Connection[] = [];
  /** Local subscribers per channel, and the fan-out listeners that feed them. */
  readonly #local = new Map<string, { conns: Set<Connection>; stop: () => void }>();
  readonly #groupSubscribers = new Map<string, Set<Connection>>();
  /** Per channel, the tail of its append-and-fan-out chain. */
  readonly #chains = new Map<string, Promise<unknown>>();
  /** Revoked token ids, with when the token would have expired anyway (ms). */
  readonly #revoked = new Map<string, number>();
  readonly #counters: HubCounters = emptyCounters();
  readonly #stopGroupListener: () => void;
  readonly #startedAtMs: number;
  #subscriptionCount = 0;
  #upgrading = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #closing = false;
  #closed: Promise<void> | undefined;
  #address: AddressInfo | undefined;

  constructor(options: WsHubOptions = {}) {
    const limits = { ...WS_HUB_DEFAULTS } as Limits;
    for (const key of Object.keys(WS_HUB_DEFAULTS) as (keyof Limits)[]) {
      const value = options[key];
      if (value !== undefined) limits[key] = value;
      const integer = !key.endsWith("Sec");
      checkPositive(key, limits[key], integer);
    }
    if (limits.maxFrameBytes < limits.maxMessageBytes + 1024)
      throw new RangeError(
        "WsHub: maxFrameBytes must be at least maxMessageBytes + 1024 (room for the frame around it)",
      );
    if (limits.minHeartbeatIntervalSec > limits.maxHeartbeatIntervalSec)
      throw new RangeError("WsHub: minHeartbeatIntervalSec must not exceed maxHeartbeatIntervalSec");
    this.#limits = limits;
    if (options.secret !== undefined) {
      const secret =
        typeof options.secret === "string" ? Buffer.from(options.secret, "utf8") : options.secret;
      if (secret.byteLength < MIN_SECRET_BYTES)
        throw new RangeError(
          `WsHub: secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.byteLength}`,
        );
      this.#secret = secret;
    } else if (options.insecure !== true) {
      throw new TypeError("WsHub: a secret is required (or insecure: true, which turns access control off)");
    }
    this.#insecure = this.#secret === undefined;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? jsonLineLogger((line) => process.stderr.write(line), { level: "warn" });
    this.#retention = options.retention ?? defaultRetention;
    this.#history = options.history ?? new MemoryHistoryStore({ nowMs: this.#now() });
    this.#fanOut = options.fanOut ?? new LocalFanOut();
    this.#presence =
      options.presence ??
      new MemoryPresenceTable({ defaultIntervalMs: limits.defaultHeartbeatIntervalSec * 1000 });
    this.#groups = options.groups ?? new MemoryChannelGroupStore();
    this.#path = options.path ?? HUB_PATH;
    this.#requestLimits = {
      maxNamesPerRequest: limits.maxNamesPerRequest,
      maxSinceEntries: limits.maxSubscriptionsPerConnection,
      minHeartbeatIntervalSec: limits.minHeartbeatIntervalSec,
      maxHeartbeatIntervalSec: limits.maxHeartbeatIntervalSec,
    };
    this.#startedAtMs = this.#now();
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#http = createServer((request, response) => this.#onHttp(request, response));
    this.#http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(request, socket, head),
    );
    this.#stopGroupListener = this.#groups.onChange((group, added, removed) =>
      this.#onGroupChange(group, added, removed),
    );
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  async listen(port = 8787, host = "127.0.0.1"): Promise<AddressInfo> {
    if (this.#closing) throw new Error("WsHub: listen after close");
    await new Promise<void>((resolve, reject) => {
      this.#http.once("error", reject);
      this.#http.listen(port, host, () => {
        this.#http.off("error", reject);
        resolve();
      });
    });
    this.#address = this.#http.address() as AddressInfo;
    this.#startTimers();
    this.#log({
      level: "info",
      event: "listening",
      host: this.#address.address,
      port: this.#address.port,
      path: this.#path,
    });
    if (this.#insecure)
      this.#log({
        level: "warn",
        event: "insecure",
        message:
          "INSECURE: no secret configured; access control is OFF and every client may read and write every channel",
      });
    return this.#address;
  }

  /** `ws://host:port/v1` once listening. */
  get url(): string {
    if (this.#address === undefined) throw new Error("WsHub: not listening");
    const host = this.#address.family === "IPv6" ? `[${this.#address.address}]` : this.#address.address;
    return `ws://${host}:${this.#address.port}${this.#path}`;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }

  /** A snapshot of the hub's counters and gauges (what `/metrics` serves, as numbers). */
  stats(): HubStats {
    const c = this.#counters;
    return {
      connections: this.#connections.size,
      subscriptions: this.#subscriptionCount,
      historyMessages: this.#history.size,
      presenceOccupants: this.#presence.size,
      connectionsOpened: c.connectionsOpened,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      presenceEventsOut: c.presenceEventsOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      authFailures: c.authFailures,
      accessDenied: c.accessDenied,
      slowConsumerCloses: c.slowConsumerCloses,
      deadSockets: c.deadSockets,
    };
  }

  /** The metrics `GET /metrics` serves, in Prometheus text format. */
  metricsText(): string {
    return encodePrometheus(
      hubMetrics(this.#counters, {
        connections: this.#connections.size,
        subscriptions: this.#subscriptionCount,
        historyMessages: this.#history.size,
        presenceOccupants: this.#presence.size,
      }),
    );
  }

  /**
   * Revokes a token by its id: connections using it are closed with 4403, and it is refused from
   * now on. `expiresAtMs` (the token's `exp`) lets the hub forget the revocation once it no longer
   * matters; without it the revocation is kept for the life of the process.
   */
  revokeToken(tokenId: string, expiresAtMs = Number.POSITIVE_INFINITY): void {
    if (typeof tokenId !== "string" || tokenId.length === 0)
      throw new TypeError("tokenId must be a non-empty string");
    this.#revoked.set(tokenId, expiresAtMs);
    this.#log({ level: "info", event: "token-revoked", tokenId });
    for (const conn of this.#connections.values())
      if (conn.claims?.tid === tokenId) this.#closeConnection(conn, CLOSE_TOKEN_REVOKED, "token revoked");
  }

  /**
   * Graceful shutdown: refuses new connections and new requests, lets requests in flight finish
   * (so every acknowledged publish is answered), tells clients (`status` `shutdown`), closes
   * each connection with 1001, and cuts those that do not finish within `shutdownTimeoutMs`.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#log({ level: "info", event: "shutdown-started", connections: this.#connections.size });
    const deadline = this.#now() + this.#limits.shutdownTimeoutMs;
    const httpClosed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    const conns = [...this.#connections.values()];
    await Promise.race([
      Promise.all(conns.map((conn) => conn.idle())),
      sleep(this.#limits.shutdownTimeoutMs),
    ]);
    for (const conn of conns) {
      if (conn.closing) continue;
      this.#send(conn, '{"type":"status","event":"shutdown"}');
      this.#closeConnection(conn, CLOSE_SHUTDOWN, "hub shutting down");
    }
    const remaining = Math.max(deadline - this.#now(), 0);
    await Promise.race([Promise.all(conns.map((conn) => conn.whenClosed())), sleep(remaining)]);
    for (const conn of conns) if (!conn.closed) conn.socket.terminate();
    this.#stopGroupListener();
    this.#http.closeAllConnections();
    this.#wss.close();
    if (this.#address !== undefined) await httpClosed;
    this.#log({ level: "info", event: "shutdown-complete" });
  }

  // -------------------------------------------------------------------------------------------
  // HTTP: upgrades, health, metrics

  #onHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? "/", "http://hub").pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      const body = JSON.stringify({
        status: this.#closing ? "shutting-down" : "ok",
        connections: this.#connections.size,
        uptimeMs: this.#now() - this.#startedAtMs,
      });
      response.writeHead(this.#closing ? 503 : 200, { "content-type": "application/json" }).end(body);
      return;
    }
    if (path === "/metrics") {
      response
        .writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
        .end(this.metricsText());
      return;
    }
    response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }

  #refuseUpgrade(socket: Duplex, status: number): void {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    socket.destroy();
  }

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const path = new URL(request.url ?? "/", "http://hub").pathname;
    if (path !== this.#path || this.#closing) {
      this.#refuseUpgrade(socket, this.#closing ? 503 : 404);
      return;
    }
    if (this.#connections.size + this.#upgrading >= this.#limits.maxConnections) {
      this.#log({
        level: "warn",
        event: "connection-refused",
        reason: "maxConnections",
        limit: this.#limits.maxConnections,
      });
      this.#refuseUpgrade(socket, 503);
      return;
    }
    this.#upgrading++;
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      this.#upgrading--;
      this.#accept(ws, socket, request);
    });
  }

  #accept(socket: WebSocket, wire: Duplex, request: IncomingMessage): void {
    const conn = new Connection(randomUUID(), socket, wire, request.socket.remoteAddress ?? "", this.#now());
    if (this.#closing) {
      socket.close(CLOSE_SHUTDOWN, "hub shutting down");
      return;
    }
    this.#connections.set(conn.id, conn);
    this.#counters.connectionsOpened++;
    this.#log({ level: "debug", event: "connection-opened", connection: conn.id, remote: conn.remote });
    conn.helloTimer = setTimeout(() => {
      if (!conn.authenticated) this.#closeConnection(conn, CLOSE_HELLO_TIMEOUT, "no hello in time");
    }, this.#limits.helloTimeoutMs);
    socket.on("message", (data: RawData, isBinary: boolean) => this.#onFrame(conn, data, isBinary));
    socket.on("pong", () => {
      conn.alive = true;
      conn.lastSeenMs = this.#now();
    });
    socket.on("error", (error: Error & { code?: string }) => {
      conn.closedByHub = true;
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
        increment(this.#counters.closes, CLOSE_FRAME_TOO_LARGE);
        this.#log({
          level: "warn",
          event: "frame-too-large",
          connection: conn.id,
          limit: this.#limits.maxFrameBytes,
        });
      } else {
        this.#log({
          level: "info",
          event: "socket-error",
          connection: conn.id,
          error: error.message,
          code: error.code,
        });
      }
    });
    socket.on("close", (code: number) => this.#onClose(conn, code));
  }

  // -------------------------------------------------------------------------------------------
  // Frames in, frames out

  #onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    conn.lastSeenMs = this.#now();
    const { text, bytes } = rawText(data);
    this.#counters.bytesIn += bytes;
    if (conn.closing) return;
    if (isBinary) {
      this.#closeConnection(conn, CLOSE_BINARY_FRAME, "binary frames are not accepted; send JSON text");
      return;
    }
    const parsed = parseRequest(text, this.#requestLimits);
    if (!parsed.ok) {
      this.#replyError(conn, parsed.id, parsed.code, parsed.message);
      if (parsed.code === "bad_frame" && ++conn.badFrames > this.#limits.maxBadFrames)
        this.#closeConnection(
          conn,
          CLOSE_PROTOCOL_ERROR,
          `more than ${this.#limits.maxBadFrames} malformed frames`,
        );
      return;
    }
    const request = parsed.request;
    if (request.op === "hello") {
      if (conn.authenticated)
        this.#replyError(conn, request.id, "invalid_argument", "hello: already said hello");
      else this.#hello(conn, request);
      return;
    }
    if (!conn.authenticated) {
      this.#replyError(conn, request.id, "unauthenticated", "send hello first");
      this.#closeConnection(conn, CLOSE_PROTOCOL_ERROR, "hello must be the first frame");
      return;
    }
    if (this.#closing) {
      this.#replyError(conn, request.id, "shutting_down", `${request.op}: the hub is shutting down`);
      return;
    }
    this.#enqueue(conn, { kind: "request", request, bytes });
  }

  #enqueue(conn: Connection, item: QueueItem): void {
    conn.queue.push(item);
    if (!conn.paused && conn.queue.length >= this.#limits.maxPendingRequests) {
      conn.paused = true;
      conn.socket.pause();
      this.#log({ level: "debug", event: "reading-paused", connection: conn.id, pending: conn.queue.length });
    }
    if (!conn.busy) void this.#drain(conn);
  }

  async #drain(conn: Connection): Promise<void> {
    conn.busy = true;
    try {
      while (conn.queue.length > 0 && !conn.closing) {
        const item = conn.queue.shift()!;
        if (conn.paused && conn.queue.length <= this.#limits.maxPendingRequests / 2) {
          conn.paused = false;
          conn.socket.resume();
        }
        if (item.kind === "task") {
          await item.run().catch((error: unknown) => this.#internalError(conn, "task", error));
          continue;
        }
        const { request } = item;
        if (this.#tokenExpired(conn)) {
          this.#closeConnection(conn, CLOSE_UNAUTHORIZED, "token expired");
          break;
        }
        try {
          const result = await this.#handle(conn, request, item.bytes);
          increment(this.#counters.requests, request.op);
          this.#send(conn, `{"id":${request.id},"ok":true,"result":${JSON.stringify(result)}}`);
        } catch (error) {
          if (error instanceof CallError) {
            if (error.code === "access_denied") this.#counters.accessDenied++;
            this.#replyError(conn, request.id, error.code, `${request.op}: ${error.message}`);
          } else {
            this.#internalError(conn, request.op, error);
            this.#replyError(conn, request.id, "server", `${request.op}: internal error`);
          }
        }
      }
    } finally {
      conn.busy = false;
      if (conn.queue.length === 0 || conn.closing) conn.notifyIdle();
    }
  }

  #internalError(conn: Connection, what: string, error: unknown): void {
    this.#log({
      level: "error",
      event: "internal-error",
      connection: conn.id,
      op: what,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }

  /**
   * Sends one text frame. `frame` is a string, or the UTF-8 bytes of one when the same frame goes
   * to many connections (encoded once, not once per subscriber).
   */
  #send(conn: Connection, frame: string | Buffer): void {
    if (conn.closing || conn.closed) return;
    this.#cork(conn);
    if (typeof frame === "string") {
      conn.socket.send(frame);
      this.#counters.bytesOut += Buffer.byteLength(frame, "utf8");
    } else {
      conn.socket.send(frame, { binary: false });
      this.#counters.bytesOut += frame.length;
    }
    // A big burst (a catch-up replay) goes out as it grows, so the send buffer below measures
    // what the client has not taken, not what this turn has written.
    if (conn.wire.writableLength >= MAX_CORKED_BYTES) this.#uncork(conn);
    if (conn.socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.#counters.slowConsumerCloses++;
      this.#log({
        level: "warn",
        event: "slow-consumer",
        connection: conn.id,
        clientId: conn.clientId,
        bufferedBytes: conn.socket.bufferedAmount,
        limit: this.#limits.maxBufferedBytes,
      });
      this.#closeConnection(conn, CLOSE_SLOW_CONSUMER, "slow consumer: send buffer over the limit");
    }
  }

  /**
   * Holds the connection's writes until the end of this turn of the event loop, so a burst of
   * frames (a fan-out of many messages, replies, presence) leaves in one system call instead of
   * one per frame: at 10 000 msg/s to 10 subscribers, per-frame writes were the hub's largest cost
   * (docs/decisions.md D25). `ws` corks and uncorks around each frame itself; ours is the outer
   * cork, so nothing leaves until `#flushCorked`. A closing socket's `end()` uncorks it.
   */
  #cork(conn: Connection): void {
    if (conn.corked) return;
    conn.corked = true;
    conn.wire.cork();
    if (this.#corked.push(conn) === 1) setImmediate(this.#flushCorked);
  }

  #uncork(conn: Connection): void {
    if (!conn.corked) return;
    conn.corked = false;
    conn.wire.uncork();
  }

  readonly #flushCorked = (): void => {
    for (const conn of this.#corked.splice(0)) this.#uncork(conn);
  };

  #replyError(conn: Connection, id: number | null, code: HubErrorCode, message: string): void {
    increment(this.#counters.errors, code);
    this.#send(conn, JSON.stringify({ id, ok: false, error: { code, message } }));
  }

  #closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.closing || conn.closed) return;
    conn.closing = true;
    conn.closedByHub = true;
    increment(this.#counters.closes, code);
    this.#log({
      level: code === CLOSE_SHUTDOWN ? "debug" : "info",
      event: "connection-closing",
      connection: conn.id,
      code,
      reason,
    });
    conn.socket.close(code, closeReason(reason));
    conn.terminateTimer = setTimeout(() => conn.socket.terminate(), this.#limits.closeTimeoutMs);
  }

  #onClose(conn: Connection, code: number): void {
    clearTimeout(conn.helloTimer);
    clearTimeout(conn.terminateTimer);
    conn.closing = true;
    conn.queue.length = 0;
    conn.notifyClosed();
    this.#connections.delete(conn.id);
    this.#log({ level: "debug", event: "connection-closed", connection: conn.id, code });
    for (const [channel, sub] of conn.subs) {
      sub.buffer = null;
      this.#removeLocal(conn, channel);
    }
    this.#subscriptionCount -= conn.subs.size;
    conn.subs.clear();
    for (const group of conn.groups.keys()) this.#leaveGroup(conn, group);
    conn.groups.clear();
    // A client that says goodbye (1000, or 1001 from a closing browser tab) leaves at once;
    // one that vanished times out after its own heartbeat intervals (DEVIATIONS 7).
    const graceful = !conn.closedByHub && (code === 1000 || code === 1001);
    const held = [...conn.presenceHeld];
    conn.presenceHeld.clear();
    if (!conn.authenticated) return;
    void (async () => {
      for (const channel of held) {
        const change = await this.#presence.release(
          channel,
          conn.clientId,
          conn.id,
          graceful,
          conn.lastSeenMs,
          this.#now(),
        );
        if (change !== undefined) await this.#publishPresence(change);
      }
    })().catch((error: unknown) => this.#internalError(conn, "close", error));
  }

  #startTimers(): void {
    const ping = setInterval(() => this.#pingSweep(), this.#limits.pingIntervalMs);
    const presence = setInterval(() => {
      void this.#presence
        .expire(this.#now())
        .then(async (changes) => {
          for (const change of changes) await this.#publishPresence(change);
        })
        .catch((error: unknown) =>
          this.#log({ level: "error", event: "presence-sweep-failed", error: String(error) }),
        );
    }, this.#limits.presenceSweepIntervalMs);
    const history = setInterval(() => {
      void this.#history
        .sweep(this.#now())
        .catch((error: unknown) =>
          this.#log({ level: "error", event: "history-sweep-failed", error: String(error) }),
        );
    }, this.#limits.historySweepIntervalMs);
    for (const timer of [ping, presence, history]) timer.unref();
    this.#timers = [ping, presence, history];
  }

  #pingSweep(): void {
    const now = this.#now();
    for (const [tokenId, expiresAtMs] of this.#revoked) if (expiresAtMs <= now) this.#revoked.delete(tokenId);
    for (const conn of this.#connections.values()) {
      if (conn.closing) continue;
      if (!conn.alive) {
        this.#counters.deadSockets++;
        this.#log({ level: "info", event: "dead-socket", connection: conn.id, clientId: conn.clientId });
        conn.closedByHub = true;
        conn.closing = true;
        conn.socket.terminate();
        continue;
      }
      if (this.#tokenExpired(conn)) {
        this.#closeConnection(conn, CLOSE_UNAUTHORIZED, "token expired");
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
  }

  #tokenExpired(conn: Connection): boolean {
    return conn.claims !== undefined && conn.claims.exp * 1000 <= this.#now();
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  #hello(conn: Connection, request: HelloRequest): void {
    if (request.protocol !== PROTOCOL_VERSION) {
      this.#replyError(
        conn,
        request.id,
        "invalid_argument",
        `hello: protocol ${request.protocol} is not spoken here; use ${PROTOCOL_VERSION}`,
      );
      this.#closeConnection(conn, CLOSE_PROTOCOL_ERROR, "unsupported protocol version");
      return;
    }
    let claims: TokenClaims | undefined;
    if (this.#secret !== undefined) {
      const refuse = (reason: string, code: number): void => {
        this.#counters.authFailures++;
        this.#log({ level: "warn", event: "auth-failed", connection: conn.id, remote: conn.remote, reason });
        this.#replyError(conn, request.id, "unauthenticated", `hello: ${reason}`);
        this.#closeConnection(conn, code, reason);
      };
      const verified =
        request.token === undefined ? undefined : verifyToken(this.#secret, request.token, this.#now());
      if (verified === undefined) refuse("a token is required", CLOSE_UNAUTHORIZED);
      else if (!verified.ok)
        refuse(`token ${verified.error.path}: ${verified.error.reason}`, CLOSE_UNAUTHORIZED);
      else if (this.#revoked.has(verified.value.tid)) refuse("token revoked", CLOSE_TOKEN_REVOKED);
      else claims = verified.value;
      if (claims === undefined) return;
    }
    clearTimeout(conn.helloTimer);
    conn.clientId = request.clientId;
    conn.claims = claims;
    conn.authenticated = true;
    increment(this.#counters.requests, "hello");
    const result: HelloResult = {
      protocol: PROTOCOL_VERSION,
      connectionId: conn.id,
      clientId: conn.clientId,
      userId: claims?.uid ?? null,
      tokenExpiresAtMs: claims === undefined ? null : claims.exp * 1000,
      timetoken: timetokenFromMs(this.#now()),
      maxMessageBytes: this.#limits.maxMessageBytes,
      maxFrameBytes: this.#limits.maxFrameBytes,
      minHeartbeatIntervalSec: this.#limits.minHeartbeatIntervalSec,
      maxHeartbeatIntervalSec: this.#limits.maxHeartbeatIntervalSec,
    };
    this.#send(conn, JSON.stringify({ id: request.id, ok: true, result }));
  }

  #handle(conn: Connection, request: HubRequest, bytes: number): Promise<unknown> {
    switch (request.op) {
      case "ping":
        return Promise.resolve({ timetoken: timetokenFromMs(this.#now()) });
      case "publish":
        return this.#publish(conn, request, bytes);
      case "subscribe":
        return this.#subscribe(conn, request);
      case "unsubscribe":
        return this.#unsubscribe(conn, request);
      case "history":
        return this.#historyQuery(conn, request);
      case "heartbeat":
        return this.#heartbeat(conn, request);
      case "setState":
        return this.#setState(conn, request);
      case "hereNow":
        return this.#hereNow(conn, request);
      case "leave":
        return this.#leave(conn, request);
      case "groupAdd":
      case "groupRemove":
        return this.#groupChange(conn, request);
      case "groupList":
      case "groupDelete":
        return this.#groupQuery(conn, request);
      case "hello":
        throw new CallError("invalid_argument", "already said hello");
    }
  }

  #canChannel(conn: Connection, channel: string, permission: Permission): boolean {
    return conn.claims === undefined
      ? this.#insecure
      : grantsAllowChannel(conn.claims.grants, channel, permission);
  }

  #canGroup(conn: Connection, group: string, permission: Permission): boolean {
    return conn.claims === undefined
      ? this.#insecure
      : grantsAllowGroup(conn.claims.grants, group, permission);
  }

  #requireChannels(conn: Connection, channels: readonly string[], permission: Permission): void {
    const denied = channels.filter((channel) => !this.#canChannel(conn, channel, permission));
    if (denied.length > 0)
      throw new CallError(
        "access_denied",
        `${permission} is not granted on channel ${denied.slice(0, 10).join(", ")}`,
      );
  }

  #requireGroups(conn: Connection, groups: readonly string[], permission: Permission): void {
    const denied = groups.filter((group) => !this.#canGroup(conn, group, permission));
    if (denied.length > 0)
      throw new CallError(
        "access_denied",
        `${permission} is not granted on group ${denied.slice(0, 10).join(", ")}`,
      );
  }

  /** Runs `task` after every earlier task of `channel`: one channel's appends and fan-outs never overlap. */
  #onChannel<T>(channel: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(channel);
    const run = previous === undefined ? task() : previous.then(task);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#chains.set(channel, tail);
    void tail.then(() => {
      if (this.#chains.get(channel) === tail) this.#chains.delete(channel);
    });
    return run;
  }

  async #publish(
    conn: Connection,
    request: PublishRequest,
    frameBytes: number,
  ): Promise<{ timetoken: Timetoken }> {
    const { channel } = request;
    this.#requireChannels(conn, [channel], "write");
    // A frame no longer than the limit cannot hold a payload over it: skip the re-encoding.
    if (frameBytes > this.#limits.maxMessageBytes) {
      const bytes = Buffer.byteLength(JSON.stringify(request.payload) ?? "", "utf8");
      if (bytes > this.#limits.maxMessageBytes)
        throw new CallError(
          "payload_too_large",
          `payload is ${bytes} bytes; at most ${this.#limits.maxMessageBytes} are allowed (split it, DEVIATIONS 9)`,
        );
    }
    const retention = this.#retention(channel);
    const message = await this.#onChannel(channel, async () => {
      const stored = await this.#history.append(
        channel,
        {
          publisher: conn.clientId,
          payload: request.payload,
          store: request.store !== false,
          retention,
          ...(request.meta === undefined ? {} : { meta: request.meta }),
        },
        this.#now(),
      );
      await this.#fanOut.publish(channel, { kind: "message", message: stored });
      return stored;
    });
    this.#counters.messagesIn++;
    return { timetoken: message.timetoken };
  }

  #messageFrame(message: HubMessage, subscription: string): string {
    return JSON.stringify({
      type: "message",
      channel: message.channel,
      subscription,
      timetoken: message.timetoken,
      publisher: message.publisher,
      payload: message.payload,
      meta: message.meta,
    });
  }

  #sendMessage(conn: Connection, text: string | Buffer): void {
    this.#counters.messagesOut++;
    this.#send(conn, text);
  }

  #deliver(channel: string, item: FanOutItem): void {
    const local = this.#local.get(channel);
    if (local === undefined) return;
    if (item.kind === "message") {
      // One encoding per subscription name (the channel, or a group), not per connection.
      let frames: Map<string, Buffer> | undefined;
      for (const conn of local.conns) {
        const sub = conn.subs.get(channel);
        if (sub === undefined) continue;
        if (sub.buffer !== null) {
          sub.buffer.push(item.message);
          continue;
        }
        const subscription = sub.via[0]!;
        frames ??= new Map();
        let text = frames.get(subscription);
        if (text === undefined) {
          text = Buffer.from(this.#messageFrame(item.message, subscription));
          frames.set(subscription, text);
        }
        this.#sendMessage(conn, text);
      }
      return;
    }
    let text: string | undefined;
    for (const conn of local.conns) {
      if (conn.subs.get(channel)?.presence !== true) continue;
      const change = item.change;
      text ??= JSON.stringify({
        type: "presence",
        channel: change.channel,
        action: change.action,
        uuid: change.uuid,
        occupancy: change.occupancy,
        timestampMs: change.timestampMs,
        timetoken: timetokenFromMs(change.timestampMs),
        state: change.state,
      });
      this.#counters.presenceEventsOut++;
      this.#send(conn, text);
    }
  }

  #addLocal(conn: Connection, channel: string): void {
    let local = this.#local.get(channel);
    if (local === undefined) {
      const deliver = (item: FanOutItem): void => this.#deliver(channel, item);
      const stopMessages = this.#fanOut.listen(channel, deliver);
      const stopPresence = this.#fanOut.listen(channel + PRESENCE_SUFFIX, deliver);
      local = {
        conns: new Set(),
        stop: () => {
          stopMessages();
          stopPresence();
        },
      };
      this.#local.set(channel, local);
    }
    local.conns.add(conn);
  }

  #removeLocal(conn: Connection, channel: string): void {
    const local = this.#local.get(channel);
    if (local === undefined) return;
    local.conns.delete(conn);
    if (local.conns.size === 0) {
      local.stop();
      this.#local.delete(channel);
    }
  }

  /** Subscribes `conn` to one channel through `via`; replays from `since` when it is new. */
  async #subscribeChannel(
    conn: Connection,
    channel: string,
    via: string,
    presence: boolean,
    since: Timetoken | undefined,
  ): Promise<SubscribedChannel> {
    // A request still running when its connection closed must not subscribe a dead connection.
    if (conn.closed) throw new CallError("invalid_argument", "the connection is closed");
    const existing = conn.subs.get(channel);
    if (existing !== undefined) {
      if (!existing.via.includes(via)) {
        if (via === channel) existing.via.unshift(via);
        else existing.via.push(via);
      }
      if (presence) existing.presence = true;
      // Inside the channel's chain: everything up to this head has been fanned out to `conn`.
      const head = await this.#onChannel(channel, () => this.#history.head(channel, this.#now()));
      return { timetoken: head, gap: false, replayed: 0 };
    }
    const sub: ChannelSubscription = { via: [via], presence, buffer: [] };
    conn.subs.set(channel, sub);
    this.#subscriptionCount++;
    this.#addLocal(conn, channel);
    let last: Timetoken;
    let gap = false;
    let replayed = 0;
    if (since === undefined) {
      last = await this.#onChannel(channel, () => this.#history.head(channel, this.#now()));
      for (const message of sub.buffer!) this.#sendMessage(conn, this.#messageFrame(message, via));
    } else {
      last = since;
      for (let first = true; ; first = false) {
        const page = await this.#history.after(channel, last, this.#limits.replayPageSize, this.#now());
        if (first) gap = page.gap;
        if (conn.closing || sub.buffer === null) break;
        for (const message of page.messages) {
          this.#sendMessage(conn, this.#messageFrame(message, via));
          last = message.timetoken;
          replayed++;
        }
        if (page.messages.length < this.#limits.replayPageSize) break;
      }
      for (const message of sub.buffer ?? []) {
        if (timetokenCompare(message.timetoken, last) <= 0) continue;
        this.#sendMessage(conn, this.#messageFrame(message, via));
        last = message.timetoken;
      }
    }
    sub.buffer = null;
    return { timetoken: last, gap, replayed };
  }

  /** Unsubscribes `conn` from `channel` as far as `via` goes; the last way out leaves presence. */
  async #dropVia(conn: Connection, channel: string, via: string): Promise<void> {
    const sub = conn.subs.get(channel);
    if (sub === undefined) return;
    const index = sub.via.indexOf(via);
    if (index >= 0) sub.via.splice(index, 1);
    if (sub.via.length > 0) return;
    conn.subs.delete(channel);
    this.#subscriptionCount--;
    this.#removeLocal(conn, channel);
    if (conn.presenceHeld.delete(channel)) {
      const change = await this.#presence.release(
        channel,
        conn.clientId,
        conn.id,
        true,
        this.#now(),
        this.#now(),
      );
      if (change !== undefined) await this.#publishPresence(change);
    }
  }

  async #readableGroupChannels(conn: Connection, group: string): Promise<string[]> {
    const channels = await this.#groups.list(group);
    return channels.filter((channel) => this.#canChannel(conn, channel, "read"));
  }

  async #subscribe(conn: Connection, request: SubscribeRequest): Promise<SubscribeResult> {
    const channels = request.channels ?? [];
    const groups = request.groups ?? [];
    this.#requireChannels(conn, channels, "read");
    this.#requireGroups(conn, groups, "read");
    const groupChannels: Record<string, string[]> = {};
    const fresh = new Set<string>();
    for (const channel of channels) if (!conn.subs.has(channel)) fresh.add(channel);
    for (const group of groups) {
      groupChannels[group] = await this.#readableGroupChannels(conn, group);
      for (const channel of groupChannels[group]) if (!conn.subs.has(channel)) fresh.add(channel);
    }
    if (conn.subs.size + fresh.size > this.#limits.maxSubscriptionsPerConnection)
      throw new CallError(
        "limit_exceeded",
        `a connection may subscribe to at most ${this.#limits.maxSubscriptionsPerConnection} channels (has ${conn.subs.size}, asked for ${fresh.size} more)`,
      );
    const presence = request.presence === true;
    const since = request.since;
    const result: Record<string, SubscribedChannel> = {};
    const sinceOf = (channel: string): Timetoken | undefined =>
      since !== undefined && Object.hasOwn(since, channel) ? since[channel] : undefined;
    for (const channel of channels)
      result[channel] = await this.#subscribeChannel(conn, channel, channel, presence, sinceOf(channel));
    for (const group of groups) {
      conn.groups.set(group, conn.groups.get(group) === true || presence);
      let subscribers = this.#groupSubscribers.get(group);
      if (subscribers === undefined) {
        subscribers = new Set();
        this.#groupSubscribers.set(group, subscribers);
      }
      subscribers.add(conn);
      for (const channel of groupChannels[group]!) {
        const subscribed = await this.#subscribeChannel(conn, channel, group, presence, sinceOf(channel));
        if (!Object.hasOwn(result, channel)) result[channel] = subscribed;
      }
    }
    for (const channel of Object.keys(result)) await this.#touchPresence(conn, channel, {});
    return { channels: result, groups: groupChannels };
  }

  async #unsubscribe(conn: Connection, request: UnsubscribeRequest): Promise<Record<string, never>> {
    for (const channel of request.channels ?? []) await this.#dropVia(conn, channel, channel);
    for (const group of request.groups ?? []) {
      if (!conn.groups.delete(group)) continue;
      this.#leaveGroup(conn, group);
      for (const [channel, sub] of [...conn.subs])
        if (sub.via.includes(group)) await this.#dropVia(conn, channel, group);
    }
    return {};
  }

  #leaveGroup(conn: Connection, group: string): void {
    const subscribers = this.#groupSubscribers.get(group);
    if (subscribers === undefined) return;
    subscribers.delete(conn);
    if (subscribers.size === 0) this.#groupSubscribers.delete(group);
  }

  async #historyQuery(conn: Connection, request: HistoryRequest): Promise<{ messages: unknown[] }> {
    this.#requireChannels(conn, [request.channel], "read");
    const messages = await this.#history.query(
      request.channel,
      {
        count: request.count ?? 100,
        ...(request.start === undefined ? {} : { start: request.start }),
        ...(request.end === undefined ? {} : { end: request.end }),
      },
      this.#now(),
    );
    return {
      messages: messages.map((message) => ({
        channel: message.channel,
        timetoken: message.timetoken,
        publisher: message.publisher,
        payload: message.payload,
        meta: message.meta,
      })),
    };
  }

  async #publishPresence(change: PresenceChange): Promise<void> {
    await this.#fanOut.publish(change.channel + PRESENCE_SUFFIX, { kind: "presence", change });
  }

  async #touchPresence(conn: Connection, channel: string, touch: PresenceTouch): Promise<void> {
    if (conn.closed) return;
    conn.presenceHeld.add(channel);
    const change = await this.#presence.touch(channel, conn.clientId, conn.id, touch, this.#now());
    if (change !== undefined) await this.#publishPresence(change);
    // Closed while the table was answering: the close released what it saw, maybe not this.
    if (conn.closed) {
      const late = await this.#presence.release(
        channel,
        conn.clientId,
        conn.id,
        false,
        conn.lastSeenMs,
        this.#now(),
      );
      if (late !== undefined) await this.#publishPresence(late);
    }
  }

  /** The channels a presence call names: its channels plus its groups' readable channels. */
  async #presenceTargets(
    conn: Connection,
    request: { readonly channels?: readonly string[]; readonly groups?: readonly string[] },
  ): Promise<string[]> {
    const channels = request.channels ?? [];
    const groups = request.groups ?? [];
    this.#requireChannels(conn, channels, "read");
    this.#requireGroups(conn, groups, "read");
    const targets = new Set(channels);
    for (const group of groups)
      for (const channel of await this.#readableGroupChannels(conn, group)) targets.add(channel);
    return [...targets];
  }

  async #heartbeat(conn: Connection, request: HeartbeatRequest): Promise<Record<string, never>> {
    const targets = await this.#presenceTargets(conn, request);
    const touch: PresenceTouch = {
      intervalMs: request.interval * 1000,
      ...("state" in request ? { state: { value: request.state } } : {}),
    };
    for (const channel of targets) await this.#touchPresence(conn, channel, touch);
    return {};
  }

  async #setState(conn: Connection, request: SetStateRequest): Promise<Record<string, never>> {
    this.#requireChannels(conn, request.channels, "read");
    for (const channel of request.channels)
      await this.#touchPresence(conn, channel, { state: { value: request.state } });
    return {};
  }

  async #hereNow(conn: Connection, request: HereNowRequest): Promise<unknown> {
    this.#requireChannels(conn, request.channels, "read");
    const channels: Record<string, unknown> = {};
    for (const channel of request.channels)
      channels[channel] = await this.#presence.hereNow(channel, request.state === true);
    return { channels };
  }

  async #leave(conn: Connection, request: LeaveRequest): Promise<Record<string, never>> {
    const targets = await this.#presenceTargets(conn, request);
    for (const channel of targets) {
      conn.presenceHeld.delete(channel);
      const change = await this.#presence.leave(channel, conn.clientId, this.#now());
      if (change !== undefined) await this.#publishPresence(change);
    }
    return {};
  }

  async #groupChange(conn: Connection, request: GroupChannelsRequest): Promise<Record<string, never>> {
    this.#requireGroups(conn, [request.group], "manage");
    if (request.op === "groupRemove") {
      await this.#groups.remove(request.group, request.channels);
      return {};
    }
    const added = await this.#groups.add(request.group, request.channels, this.#limits.maxChannelsPerGroup);
    if (added === undefined)
      throw new CallError(
        "limit_exceeded",
        `a group may hold at most ${this.#limits.maxChannelsPerGroup} channels`,
      );
    return {};
  }

  async #groupQuery(conn: Connection, request: GroupRequest): Promise<unknown> {
    if (request.op === "groupDelete") {
      this.#requireGroups(conn, [request.group], "manage");
      await this.#groups.delete(request.group);
      return {};
    }
    if (!this.#canGroup(conn, request.group, "read") && !this.#canGroup(conn, request.group, "manage"))
      throw new CallError("access_denied", `read is not granted on group ${request.group}`);
    return { channels: await this.#groups.list(request.group) };
  }

  /** Moves the live subscribers of `group` onto its new channels and off its removed ones. */
  #onGroupChange(group: string, added: readonly string[], removed: readonly string[]): void {
    const subscribers = this.#groupSubscribers.get(group);
    if (subscribers === undefined) return;
    for (const conn of subscribers) {
      this.#enqueue(conn, {
        kind: "task",
        run: async () => {
          if (!conn.groups.has(group)) return;
          const presence = conn.groups.get(group) === true;
          for (const channel of removed) await this.#dropVia(conn, channel, group);
          const timetokens: Record<string, Timetoken> = {};
          const live: string[] = [];
          for (const channel of added) {
            if (!this.#canChannel(conn, channel, "read")) continue;
            if (!conn.subs.has(channel) && conn.subs.size >= this.#limits.maxSubscriptionsPerConnection)
              continue;
            timetokens[channel] = (
              await this.#subscribeChannel(conn, channel, group, presence, undefined)
            ).timetoken;
            await this.#touchPresence(conn, channel, {});
            live.push(channel);
          }
          this.#send(
            conn,
            JSON.stringify({
              type: "status",
              event: "group-changed",
              group,
              added: live,
              removed,
              timetokens,
            }),
          );
        },
      });
    }
  }
}
