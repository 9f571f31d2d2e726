/**
 * `WsTransport`: the `Transport` (crdt-core `transport.ts`) over a `WsHub`. Runs in Node 20
 * and in browsers: it uses the global `WebSocket` where there is one and loads `ws` otherwise;
 * no `node:` imports.
 *
 * Reconnect rules (docs/protocol.md, "WebSocket hub", client behaviour):
 * - a dropped connection is retried with spec 6.2 / 10.3 backoff (1 s doubling to 30 s) with
 *   equal jitter (`backoffDelayMs`); a successful `hello` resets it;
 * - after `hello`, every subscription is restored with `since` = the newest timetoken seen per
 *   channel, so the hub replays what was missed; then `reconnected` is emitted, with `gap: true`
 *   if the hub could not replay everything (DEVIATIONS 9: the client reconciles);
 * - publishes wait in a bounded queue while disconnected and are (re)sent in order until the hub
 *   acknowledges them: a publish sent but not acknowledged when the connection dropped is sent
 *   again (at least once). A publish is rejected only by the hub's verdict, a full queue, or
 *   `close()`: never dropped silently;
 * - any request unanswered within `requestTimeoutMs` means the connection is dead: it is dropped
 *   and reconnected. An idle connection is probed with `ping` every `pingIntervalMs`.
 */
import {
  backoffDelayMs,
  type HeartbeatOptions,
  type HereNowResult,
  type HistoryOptions,
  type HistoryResult,
  isTimetoken,
  PRESENCE_ACTIONS,
  type PresenceAction,
  type PublishOptions,
  type SubscribeOptions,
  type Timetoken,
  type Transport,
  TransportError,
  type TransportListener,
  type TransportMessage,
  type TransportOperation,
  type TransportPresenceEvent,
  type TransportStatus,
  timetokenCompare,
} from "@mg-sync/crdt-core";
import {
  CLOSE_NORMAL,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOKEN_REVOKED,
  CLOSE_UNAUTHORIZED,
  type HelloResult,
  type HubError,
  type HubErrorCode,
  type HubOp,
  OPERATION_OF_OP,
  PROTOCOL_VERSION,
  type SubscribeResult,
  transportErrorCodeOf,
} from "./frames.js";
import { isRecord, replyProblem } from "./replies.js";

/** What we use of a WebSocket: the standard browser API, which `ws` also implements. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WsTransportOptions {
  /** The hub's WebSocket URL, e.g. `ws://127.0.0.1:8787/v1`. */
  readonly url: string;
  /** This device's id: the `publisher` of its messages and its `uuid` in presence. */
  readonly clientId: string;
  /**
   * The access token, or a function that fetches a fresh one; it is called before every
   * connection, so an expired token (close 4401) is replaced. With a fixed string, a refused
   * token ends the transport (status `access-denied`).
   */
  readonly token?: string | (() => string | Promise<string>);
  /** Largest payload accepted (UTF-8 bytes of its JSON); the hub's own limit applies too. Default 32 768. */
  readonly maxMessageBytes?: number;
  /** Publishes waiting for an acknowledgement; past it `publish` rejects with `queue_full`. Default 1 000. */
  readonly maxQueuedPublishes?: number;
  /** A request unanswered this long means the connection is dead. Default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** An open connection is probed this often. Default 25 000 ms. */
  readonly pingIntervalMs?: number;
  /** `close()` waits this long for queued publishes to be acknowledged. Default 2 000 ms. */
  readonly closeTimeoutMs?: number;
  /** Reconnect backoff (spec 6.2): first delay and cap. Defaults 1 000 ms and 30 000 ms. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Jitter source. Default `Math.random`. */
  readonly random?: () => number;
  /** A WebSocket implementation. Default: the global `WebSocket`, else the `ws` package. */
  readonly WebSocket?: WebSocketConstructor;
}

export const WS_TRANSPORT_DEFAULTS = Object.freeze({
  maxMessageBytes: 32_768,
  maxQueuedPublishes: 1_000,
  requestTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  closeTimeoutMs: 2_000,
});

const OPEN = 1;
/** Channels per subscribe request when restoring subscriptions after a reconnect. */
const RESUBSCRIBE_BATCH = 100;
const textEncoder = new TextEncoder();

type Timer = ReturnType<typeof setTimeout>;

interface PendingRequest {
  readonly op: HubOp;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: TransportError) => void;
}

interface PublishJob {
  readonly channel: string;
  /** The frame without its id: `"op":"publish",…` (pre-encoded once). */
  readonly body: string;
  readonly resolve: (value: { readonly timetoken: Timetoken }) => void;
  readonly reject: (error: TransportError) => void;
  /** Sent on the current connection, awaiting its reply. */
  sent: boolean;
}

interface Desired {
  presence: boolean;
}

async function loadWebSocket(injected: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  if (injected !== undefined) return injected;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  const ws = await import("ws");
  return (ws.WebSocket ?? ws.default) as unknown as WebSocketConstructor;
}

function isPresenceAction(value: unknown): value is PresenceAction {
  return (PRESENCE_ACTIONS as readonly unknown[]).includes(value);
}

function maxTimetoken(a: Timetoken | undefined, b: Timetoken | undefined): Timetoken | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return timetokenCompare(a, b) >= 0 ? a : b;
}

function positive(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new RangeError(`WsTransport: ${name} must be a positive number, got ${String(value)}`);
  return value;
}

export class WsTransport implements Transport {
  readonly clientId: string;
  readonly #url: string;
  readonly #token: WsTransportOptions["token"];
  readonly #maxMessageBytes: number;
  readonly #maxQueued: number;
  readonly #requestTimeoutMs: number;
  readonly #pingIntervalMs: number;
  readonly #closeTimeoutMs: number;
  readonly #backoff: { readonly baseMs?: number; readonly maxMs?: number };
  readonly #random: () => number;
  readonly #WebSocket: WebSocketConstructor | undefined;

  readonly #listeners = new Set<TransportListener>();
  readonly #pending = new Map<number, PendingRequest>();
  readonly #publishes: PublishJob[] = [];
  readonly #channels = new Map<string, Desired>();
  readonly #groups = new Map<string, Desired>();
  /** Each subscribed group's channels, as the hub last told. */
  readonly #groupChannels = new Map<string, readonly string[]>();
  /** Per channel, the newest timetoken this client is caught up to. */
  readonly #watermarks = new Map<string, Timetoken>();
  /** Calls waiting for an open connection. */
  #waiting: (() => void)[] = [];
  #lastHeartbeat: HeartbeatOptions | undefined;

  #socket: WebSocketLike | undefined;
  #state: "idle" | "connecting" | "open" | "closed" = "idle";
  #hub: HelloResult | undefined;
  #nextId = 1;
  #attempt = 0;
  #reconnectTimer: Timer | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #everOpened = false;
  #announcedConnected = false;
  /** The newest timetoken seen when the connection dropped (for `reconnected`). */
  #lastBeforeDrop: Timetoken | undefined;
  /** Set when the hub refused a fixed token: every call fails with it. */
  #fatal: TransportError | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: WsTransportOptions) {
    if (typeof options.url !== "string" || !/^wss?:\/\//.test(options.url))
      throw new TypeError(`WsTransport: url must be a ws:// or wss:// URL, got ${String(options.url)}`);
    if (typeof options.clientId !== "string" || !/^[\x21-\x7e]{1,92}$/.test(options.clientId))
      throw new RangeError("WsTransport: clientId must be 1..92 printable ASCII characters");
    this.#url = options.url;
    this.clientId = options.clientId;
    this.#token = options.token;
    this.#maxMessageBytes = positive(
      "maxMessageBytes",
      options.maxMessageBytes ?? WS_TRANSPORT_DEFAULTS.maxMessageBytes,
    );
    this.#maxQueued = positive(
      "maxQueuedPublishes",
      options.maxQueuedPublishes ?? WS_TRANSPORT_DEFAULTS.maxQueuedPublishes,
    );
    this.#requestTimeoutMs = positive(
      "requestTimeoutMs",
      options.requestTimeoutMs ?? WS_TRANSPORT_DEFAULTS.requestTimeoutMs,
    );
    this.#pingIntervalMs = positive(
      "pingIntervalMs",
      options.pingIntervalMs ?? WS_TRANSPORT_DEFAULTS.pingIntervalMs,
    );
    this.#closeTimeoutMs = positive(
      "closeTimeoutMs",
      options.closeTimeoutMs ?? WS_TRANSPORT_DEFAULTS.closeTimeoutMs,
    );
    this.#backoff = options.backoff ?? {};
    backoffDelayMs(0, this.#backoff); // throws a RangeError now for bad backoff options, not at the first drop
    this.#random = options.random ?? Math.random;
    this.#WebSocket = options.WebSocket;
  }

  get maxMessageBytes(): number {
    return this.#hub === undefined
      ? this.#maxMessageBytes
      : Math.min(this.#maxMessageBytes, this.#hub.maxMessageBytes);
  }

  /** Whether a connection is open and past `hello`. */
  get connected(): boolean {
    return this.#state === "open";
  }

  /** Publishes not yet acknowledged. */
  get queuedPublishes(): number {
    return this.#publishes.length;
  }

  addListener(listener: TransportListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // -------------------------------------------------------------------------------------------
  // Events out

  #emitStatus(status: TransportStatus): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener.status?.(status);
      } catch {
        // A listener's bug must not stop delivery to the others.
      }
    }
  }

  #emitMessage(message: TransportMessage): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener.message?.(message);
      } catch {
        // As above.
      }
    }
  }

  #emitPresence(event: TransportPresenceEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener.presence?.(event);
      } catch {
        // As above.
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  #ensureConnection(): void {
    if (this.#state === "idle" && this.#reconnectTimer === undefined && this.#fatal === undefined)
      void this.#connect();
  }

  async #connect(): Promise<void> {
    this.#state = "connecting";
    let token: string | undefined;
    let WebSocketImpl: WebSocketConstructor;
    try {
      token = typeof this.#token === "function" ? await this.#token() : this.#token;
      WebSocketImpl = await loadWebSocket(this.#WebSocket);
    } catch (error) {
      if (this.#state !== "connecting") return;
      this.#state = "idle";
      this.#scheduleReconnect(`cannot connect: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.#state !== "connecting") return;
    let socket: WebSocketLike;
    try {
      socket = new WebSocketImpl(this.#url);
    } catch (error) {
      this.#state = "idle";
      this.#scheduleReconnect(`cannot connect: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      const id = this.#nextId++;
      this.#pending.set(id, {
        op: "hello",
        resolve: (result) => this.#onHello(socket, result as HelloResult),
        reject: (error) => {
          // The hub closes the connection after a refused hello, and the close code says why;
          // one that does not (or answers with a malformed reply) is dropped after closeTimeoutMs.
          const drop = (): void => {
            if (this.#state === "connecting")
              this.#dropConnection(socket, CLOSE_PROTOCOL_ERROR, `hello refused: ${error.message}`);
          };
          if (error.code === "server") drop();
          else setTimeout(drop, this.#closeTimeoutMs);
        },
      });
      socket.send(
        JSON.stringify(
          token === undefined
            ? { op: "hello", id, protocol: PROTOCOL_VERSION, clientId: this.clientId }
            : { op: "hello", id, protocol: PROTOCOL_VERSION, clientId: this.clientId, token },
        ),
      );
      this.#armTimeout(id, socket);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#onFrame(event.data);
    };
    socket.onerror = () => {
      // A close event follows; it carries what we act on.
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#onClose(event.code, event.reason);
    };
  }

  #onHello(socket: WebSocketLike, hello: HelloResult): void {
    if (this.#socket !== socket) return;
    this.#hub = hello;
    this.#state = "open";
    this.#attempt = 0;
    const reconnect = this.#everOpened;
    this.#everOpened = true;
    this.#pingTimer = setInterval(() => this.#probe(), this.#pingIntervalMs);
    // Resubscribe first: the hub answers in order, so replays precede everything after.
    const restored = this.#resubscribe();
    for (const job of this.#publishes) this.#sendPublish(job);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const go of waiting) go();
    if (this.#lastHeartbeat !== undefined) void this.heartbeat(this.#lastHeartbeat).catch(() => {});
    if (reconnect) {
      const lastTimetoken = this.#lastBeforeDrop;
      void restored.then((gap) => {
        if (this.#socket === socket) this.#emitStatus({ type: "reconnected", lastTimetoken, gap });
      });
    }
  }

  /** Restores every subscription with `since`; resolves with whether any channel had a gap. */
  async #resubscribe(): Promise<boolean> {
    // Small requests: each group alone, channels by the hundred, so `since` stays well inside
    // the hub's frame and per-request limits.
    const batches: { presence: boolean; channels: string[]; groups: string[] }[] = [];
    for (const presence of [false, true]) {
      const names = [...this.#channels]
        .filter(([, desired]) => desired.presence === presence)
        .map(([name]) => name);
      for (let i = 0; i < names.length; i += RESUBSCRIBE_BATCH)
        batches.push({ presence, channels: names.slice(i, i + RESUBSCRIBE_BATCH), groups: [] });
      for (const [name, desired] of this.#groups)
        if (desired.presence === presence) batches.push({ presence, channels: [], groups: [name] });
    }
    const calls = batches.map(({ presence, channels, groups }) => {
      // `since` for exactly the channels this request covers, directly or through its group.
      const since: Record<string, Timetoken> = {};
      const covered = [...channels];
      for (const group of groups) covered.push(...(this.#groupChannels.get(group) ?? []));
      for (const channel of covered) {
        const timetoken = this.#watermarks.get(channel);
        if (timetoken !== undefined) since[channel] = timetoken;
      }
      const body: Record<string, unknown> = { since };
      if (channels.length > 0) body.channels = channels;
      if (groups.length > 0) body.groups = groups;
      if (presence) body.presence = true;
      return this.#requestNow("subscribe", body).then(
        (result) => this.#applySubscribed(result as SubscribeResult),
        (error: TransportError) => {
          if (error.code === "access_denied") {
            for (const name of channels) this.#channels.delete(name);
            for (const name of groups) this.#groups.delete(name);
            this.#emitStatus({
              type: "access-denied",
              operation: "subscribe",
              channels: [...channels, ...groups],
              message: error.message,
            });
          }
          return false;
        },
      );
    });
    const gaps = await Promise.all(calls);
    return gaps.includes(true);
  }

  /** Records a subscribe reply's timetokens; returns whether any channel had a gap. */
  #applySubscribed(result: SubscribeResult): boolean {
    let gap = false;
    if (isRecord(result.channels)) {
      for (const [channel, info] of Object.entries(result.channels)) {
        if (!isRecord(info)) continue;
        if (info.gap === true) gap = true;
        if (typeof info.timetoken === "string") this.#advance(channel, info.timetoken);
      }
    }
    if (isRecord(result.groups)) {
      for (const [group, channels] of Object.entries(result.groups))
        if (Array.isArray(channels)) this.#groupChannels.set(group, channels as string[]);
    }
    return gap;
  }

  #advance(channel: string, timetoken: Timetoken): void {
    const current = this.#watermarks.get(channel);
    if (current === undefined || timetokenCompare(timetoken, current) > 0)
      this.#watermarks.set(channel, timetoken);
  }

  #probe(): void {
    if (this.#state !== "open") return;
    this.#requestNow("ping", {}).catch(() => {
      // A timeout already dropped the connection.
    });
  }

  #onClose(code: number, reason: string): void {
    const wasOpen = this.#state === "open";
    this.#socket = undefined;
    this.#hub = undefined;
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    let newest: Timetoken | undefined;
    for (const timetoken of this.#watermarks.values()) newest = maxTimetoken(newest, timetoken);
    if (wasOpen) this.#lastBeforeDrop = newest;
    for (const job of this.#publishes) job.sent = false;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    // Publishes take `network` as "send again on the next connection" (see `#sendPublish`).
    for (const request of pending)
      request.reject(new TransportError("network", OPERATION_OF_OP[request.op], `connection lost (${code})`));
    if (this.#state === "closed") return;
    this.#state = "idle";
    const why = `closed by the hub with ${code}${reason === "" ? "" : ` (${reason})`}`;
    if (wasOpen) this.#emitStatus({ type: "disconnected", reason: why });
    if ((code === CLOSE_UNAUTHORIZED || code === CLOSE_TOKEN_REVOKED) && typeof this.#token !== "function") {
      this.#fail(new TransportError("access_denied", "subscribe", `the hub refused the token: ${why}`));
      return;
    }
    this.#scheduleReconnect(why);
  }

  /** A fixed token was refused: nothing can succeed any more. */
  #fail(error: TransportError): void {
    this.#fatal = error;
    this.#emitStatus({
      type: "access-denied",
      operation: error.operation,
      channels: [...this.#channels.keys()],
      message: error.message,
    });
    for (const job of this.#publishes.splice(0)) job.reject(error);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const go of waiting) go();
  }

  #scheduleReconnect(_why: string): void {
    if (this.#state === "closed" || this.#reconnectTimer !== undefined) return;
    const delay = backoffDelayMs(Math.min(this.#attempt++, 30), { ...this.#backoff, random: this.#random });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state === "idle") void this.#connect();
    }, delay);
  }

  // -------------------------------------------------------------------------------------------
  // Frames

  #onFrame(data: unknown): void {
    if (typeof data !== "string") return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!isRecord(frame)) return;
    if (typeof frame.ok === "boolean") {
      if (typeof frame.id !== "number") return;
      const request = this.#pending.get(frame.id);
      if (request === undefined) return;
      this.#pending.delete(frame.id);
      if (frame.ok) {
        const problem = replyProblem(request.op, frame.result);
        if (problem === undefined) request.resolve(frame.result);
        else
          request.reject(
            new TransportError(
              "server",
              OPERATION_OF_OP[request.op],
              `the hub's ${request.op} reply is malformed: ${problem}`,
            ),
          );
      } else {
        const error = (isRecord(frame.error) ? frame.error : {}) as Partial<HubError>;
        const code = (typeof error.code === "string" ? error.code : "server") as HubErrorCode;
        request.reject(
          new TransportError(
            transportErrorCodeOf(code),
            OPERATION_OF_OP[request.op],
            typeof error.message === "string" ? error.message : code,
          ),
        );
        // A hub shutting down closes the connection, and what it refused goes again on the next
        // one. One that says so but keeps the connection open would hold those publishes forever:
        // drop it ourselves, and reconnect with backoff.
        if (code === "shutting_down") this.#dropConnection(this.#socket, 4000, "the hub is shutting down");
      }
      return;
    }
    switch (frame.type) {
      case "message": {
        // A delivery without a channel or a real timetoken cannot be placed, or resumed after.
        if (typeof frame.channel !== "string" || !isTimetoken(frame.timetoken)) return;
        this.#advance(frame.channel, frame.timetoken);
        const message: TransportMessage = {
          channel: frame.channel,
          subscription: typeof frame.subscription === "string" ? frame.subscription : frame.channel,
          timetoken: frame.timetoken,
          publisher: typeof frame.publisher === "string" ? frame.publisher : "",
          payload: frame.payload,
          ...(isRecord(frame.meta) ? { meta: frame.meta } : {}),
        };
        this.#emitMessage(message);
        return;
      }
      case "presence": {
        if (typeof frame.channel !== "string" || typeof frame.uuid !== "string") return;
        if (!isPresenceAction(frame.action)) return;
        const event: TransportPresenceEvent = {
          channel: frame.channel,
          action: frame.action,
          uuid: frame.uuid,
          occupancy: typeof frame.occupancy === "number" ? frame.occupancy : 0,
          timestampMs: typeof frame.timestampMs === "number" ? frame.timestampMs : 0,
          timetoken: isTimetoken(frame.timetoken) ? frame.timetoken : "0",
          ...("state" in frame ? { state: frame.state } : {}),
        };
        this.#emitPresence(event);
        return;
      }
      case "status": {
        if (frame.event === "group-changed" && typeof frame.group === "string") {
          if (isRecord(frame.timetokens))
            for (const [channel, timetoken] of Object.entries(frame.timetokens))
              if (isTimetoken(timetoken)) this.#advance(channel, timetoken);
          const current = new Set(this.#groupChannels.get(frame.group) ?? []);
          if (Array.isArray(frame.added))
            for (const channel of frame.added) if (typeof channel === "string") current.add(channel);
          if (Array.isArray(frame.removed))
            for (const channel of frame.removed) if (typeof channel === "string") current.delete(channel);
          this.#groupChannels.set(frame.group, [...current]);
        }
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  /**
   * Closes `socket` from our side and handles it as a drop (reconnect), if it is still the
   * current connection; a socket already replaced is left alone.
   */
  #dropConnection(socket: WebSocketLike | undefined, code: number, reason: string): void {
    if (socket === undefined || this.#socket !== socket) return;
    socket.close(code, reason);
    this.#onClose(code, reason);
  }

  /** Drops a connection whose request went unanswered: it is dead or hopelessly slow. */
  #armTimeout(id: number, socket: WebSocketLike): void {
    const timer = setTimeout(() => {
      const request = this.#pending.get(id);
      if (request === undefined) return;
      this.#dropConnection(socket, 4000, "request timeout");
    }, this.#requestTimeoutMs);
    const original = this.#pending.get(id);
    if (original === undefined) return;
    this.#pending.set(id, {
      op: original.op,
      resolve: (result) => {
        clearTimeout(timer);
        original.resolve(result);
      },
      reject: (error) => {
        clearTimeout(timer);
        original.reject(error);
      },
    });
  }

  /** Sends a request on the open connection. */
  #requestNow(op: HubOp, body: Record<string, unknown>): Promise<unknown> {
    const socket = this.#socket;
    if (this.#state !== "open" || socket === undefined || socket.readyState !== OPEN)
      return Promise.reject(new TransportError("network", OPERATION_OF_OP[op], "not connected"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { op, resolve, reject });
      this.#armTimeout(id, socket);
      socket.send(JSON.stringify({ op, id, ...body }));
    });
  }

  #checkUsable(operation: TransportOperation): void {
    if (this.#state === "closed") throw new TransportError("closed", operation, "the transport is closed");
    if (this.#fatal !== undefined) throw this.#fatal;
  }

  /** Sends a request once a connection is open; fails with `network` if none opens in time. */
  async #request(op: HubOp, body: Record<string, unknown>): Promise<unknown> {
    const operation = OPERATION_OF_OP[op];
    this.#checkUsable(operation);
    if (this.#state !== "open") {
      this.#ensureConnection();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#waiting = this.#waiting.filter((go) => go !== ready);
          reject(
            new TransportError(
              "network",
              operation,
              `no connection to the hub within ${this.#requestTimeoutMs} ms`,
            ),
          );
        }, this.#requestTimeoutMs);
        const ready = (): void => {
          clearTimeout(timer);
          resolve();
        };
        this.#waiting.push(ready);
      });
      this.#checkUsable(operation);
    }
    return this.#requestNow(op, body);
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  publish(
    channel: string,
    payload: unknown,
    options: PublishOptions = {},
  ): Promise<{ readonly timetoken: Timetoken }> {
    try {
      this.#checkUsable("publish");
    } catch (error) {
      return Promise.reject(error);
    }
    let payloadJson: string | undefined;
    try {
      payloadJson = JSON.stringify(payload);
    } catch (error) {
      return Promise.reject(
        new TransportError(
          "invalid_argument",
          "publish",
          `payload is not JSON: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }
    if (payloadJson === undefined)
      return Promise.reject(new TransportError("invalid_argument", "publish", "payload is not a JSON value"));
    const bytes = textEncoder.encode(payloadJson).byteLength;
    if (bytes > this.maxMessageBytes)
      return Promise.reject(
        new TransportError(
          "payload_too_large",
          "publish",
          `payload is ${bytes} bytes; at most ${this.maxMessageBytes} are allowed`,
        ),
      );
    if (this.#publishes.length >= this.#maxQueued)
      return Promise.reject(
        new TransportError(
          "queue_full",
          "publish",
          `${this.#publishes.length} publishes already wait for the hub`,
        ),
      );
    let body = `"op":"publish","channel":${JSON.stringify(channel)},"payload":${payloadJson}`;
    if (options.meta !== undefined) body += `,"meta":${JSON.stringify(options.meta)}`;
    if (options.storeInHistory === false) body += `,"store":false`;
    return new Promise((resolve, reject) => {
      const job: PublishJob = { channel, body, resolve, reject, sent: false };
      this.#publishes.push(job);
      if (this.#state === "open") this.#sendPublish(job);
      else this.#ensureConnection();
    });
  }

  #sendPublish(job: PublishJob): void {
    const socket = this.#socket;
    if (job.sent || socket === undefined || this.#state !== "open") return;
    const id = this.#nextId++;
    job.sent = true;
    this.#pending.set(id, {
      op: "publish",
      resolve: (result) => {
        this.#removeJob(job);
        job.resolve({ timetoken: (result as { timetoken: Timetoken }).timetoken });
      },
      reject: (error) => {
        // `shutting_down`: not carried out; it goes again on the next connection.
        if (error.code === "network") {
          job.sent = false;
          return;
        }
        this.#removeJob(job);
        job.reject(error);
      },
    });
    this.#armTimeout(id, socket);
    socket.send(`{"id":${id},${job.body}}`);
  }

  #removeJob(job: PublishJob): void {
    const index = this.#publishes.indexOf(job);
    if (index >= 0) this.#publishes.splice(index, 1);
  }

  async subscribe(options: SubscribeOptions): Promise<void> {
    const channels = [...new Set(options.channels ?? [])];
    const groups = [...new Set(options.channelGroups ?? [])];
    if (channels.length === 0 && groups.length === 0) return;
    const presence = options.withPresence === true;
    this.#checkUsable("subscribe");
    for (const name of channels)
      this.#channels.set(name, { presence: presence || this.#channels.get(name)?.presence === true });
    for (const name of groups)
      this.#groups.set(name, { presence: presence || this.#groups.get(name)?.presence === true });
    const body: Record<string, unknown> = {};
    if (channels.length > 0) body.channels = channels;
    if (groups.length > 0) body.groups = groups;
    if (presence) body.presence = true;
    let result: unknown;
    try {
      result = await this.#request("subscribe", body);
    } catch (error) {
      if (error instanceof TransportError && error.code === "access_denied") {
        for (const name of channels) this.#channels.delete(name);
        for (const name of groups) this.#groups.delete(name);
        this.#emitStatus({
          type: "access-denied",
          operation: "subscribe",
          channels: [...channels, ...groups],
          message: error.message,
        });
      } else if (error instanceof TransportError && error.code !== "network") {
        for (const name of channels) this.#channels.delete(name);
        for (const name of groups) this.#groups.delete(name);
      }
      throw error;
    }
    this.#applySubscribed(result as SubscribeResult);
    if (!this.#announcedConnected) {
      this.#announcedConnected = true;
      this.#emitStatus({
        type: "connected",
        channels: [...this.#channels.keys()],
        channelGroups: [...this.#groups.keys()],
      });
    }
  }

  async unsubscribe(options: SubscribeOptions): Promise<void> {
    const channels = [...new Set(options.channels ?? [])];
    const groups = [...new Set(options.channelGroups ?? [])];
    if (this.#state === "closed") return;
    for (const name of channels) this.#channels.delete(name);
    for (const name of groups) {
      this.#groups.delete(name);
      this.#groupChannels.delete(name);
    }
    // Forget the watermarks of channels no longer covered, so a later subscribe starts fresh.
    const covered = new Set(this.#channels.keys());
    for (const list of this.#groupChannels.values()) for (const channel of list) covered.add(channel);
    for (const channel of [...this.#watermarks.keys()])
      if (!covered.has(channel)) this.#watermarks.delete(channel);
    if (this.#state !== "open" || (channels.length === 0 && groups.length === 0)) return;
    const body: Record<string, unknown> = {};
    if (channels.length > 0) body.channels = channels;
    if (groups.length > 0) body.groups = groups;
    await this.#requestNow("unsubscribe", body);
  }

  async history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    const count = options.count === undefined ? 100 : Math.min(options.count, 100);
    if (!Number.isSafeInteger(count) || count < 1)
      throw new TransportError(
        "invalid_argument",
        "history",
        `count must be a positive integer, got ${String(options.count)}`,
      );
    const body: Record<string, unknown> = { channel, count };
    if (options.start !== undefined) body.start = options.start;
    if (options.end !== undefined) body.end = options.end;
    const result = (await this.#request("history", body)) as { messages?: unknown };
    const messages: TransportMessage[] = [];
    if (Array.isArray(result.messages)) {
      for (const item of result.messages) {
        if (!isRecord(item) || typeof item.timetoken !== "string") continue;
        messages.push({
          channel,
          subscription: channel,
          timetoken: item.timetoken,
          publisher: typeof item.publisher === "string" ? item.publisher : "",
          payload: item.payload,
          ...(isRecord(item.meta) ? { meta: item.meta } : {}),
        });
      }
    }
    return { messages };
  }

  async heartbeat(options: HeartbeatOptions): Promise<void> {
    const body: Record<string, unknown> = { interval: options.intervalSeconds };
    if (options.channels !== undefined && options.channels.length > 0) body.channels = options.channels;
    if (options.channelGroups !== undefined && options.channelGroups.length > 0)
      body.groups = options.channelGroups;
    if (options.state !== undefined) body.state = options.state;
    await this.#request("heartbeat", body);
    // Re-announced after a reconnect, so a restarted hub learns the interval and state again.
    this.#lastHeartbeat = options;
  }

  async setState(options: { readonly channels: readonly string[]; readonly state: unknown }): Promise<void> {
    await this.#request("setState", { channels: options.channels, state: options.state });
  }

  async hereNow(options: {
    readonly channels: readonly string[];
    readonly includeState?: boolean;
  }): Promise<HereNowResult> {
    const result = (await this.#request("hereNow", {
      channels: options.channels,
      state: options.includeState === true,
    })) as { channels?: unknown };
    const channels: Record<string, { occupancy: number; occupants: { uuid: string; state?: unknown }[] }> =
      {};
    if (isRecord(result.channels)) {
      for (const [channel, info] of Object.entries(result.channels)) {
        if (!isRecord(info)) continue;
        const occupants: { uuid: string; state?: unknown }[] = [];
        if (Array.isArray(info.occupants))
          for (const occupant of info.occupants)
            if (isRecord(occupant) && typeof occupant.uuid === "string")
              occupants.push(
                "state" in occupant
                  ? { uuid: occupant.uuid, state: occupant.state }
                  : { uuid: occupant.uuid },
              );
        channels[channel] = {
          occupancy: typeof info.occupancy === "number" ? info.occupancy : occupants.length,
          occupants,
        };
      }
    }
    return { channels };
  }

  async leave(options: {
    readonly channels?: readonly string[];
    readonly channelGroups?: readonly string[];
  }): Promise<void> {
    const body: Record<string, unknown> = {};
    if (options.channels !== undefined && options.channels.length > 0) body.channels = options.channels;
    if (options.channelGroups !== undefined && options.channelGroups.length > 0)
      body.groups = options.channelGroups;
    if (body.channels === undefined && body.groups === undefined) return;
    await this.#request("leave", body);
  }

  async addChannelsToGroup(group: string, channels: readonly string[]): Promise<void> {
    await this.#request("groupAdd", { group, channels });
  }

  async removeChannelsFromGroup(group: string, channels: readonly string[]): Promise<void> {
    await this.#request("groupRemove", { group, channels });
  }

  async listChannelsInGroup(group: string): Promise<readonly string[]> {
    const result = (await this.#request("groupList", { group })) as { channels?: unknown };
    return Array.isArray(result.channels)
      ? result.channels.filter((c): c is string => typeof c === "string")
      : [];
  }

  async deleteChannelGroup(group: string): Promise<void> {
    await this.#request("groupDelete", { group });
  }

  /**
   * Waits up to `closeTimeoutMs` for queued publishes to be acknowledged, rejects the rest with
   * `closed`, and closes the connection normally (1000), which the hub takes as a goodbye:
   * this client leaves presence at once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === "open" && this.#publishes.length > 0) {
      const deadline = Date.now() + this.#closeTimeoutMs;
      while (this.#publishes.length > 0 && this.#state === "open" && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    clearInterval(this.#pingTimer);
    const closed = new TransportError("closed", "close", "the transport was closed");
    for (const job of this.#publishes.splice(0))
      job.reject(
        new TransportError("closed", "publish", "the transport was closed before the hub acknowledged it"),
      );
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending)
      request.reject(new TransportError("closed", OPERATION_OF_OP[request.op], closed.message));
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const go of waiting) go();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#closeTimeoutMs);
        socket.onclose = () => {
          clearTimeout(timer);
          resolve();
        };
        try {
          socket.close(CLOSE_NORMAL, "client closed");
        } catch {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    if (wasOpen) this.#emitStatus({ type: "disconnected", reason: "closed" });
    this.#listeners.clear();
  }
}
