/**
 * `PubNubEmulator`: a local server on `node:http` at 127.0.0.1 that speaks PubNub's HTTP
 * protocol the way the official SDK needs it (research/pubnub-protocol.md §10), for tests and
 * demos with no internet. Each endpoint lives in `./endpoints/`; this file owns the socket, the
 * routing, the request log and fault injection.
 *
 * Time is injectable (`now`), so presence timeouts and retention can be tested without waiting.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import {
  type ChannelRetention,
  channelRetention,
  DEFAULT_CHANNEL_RETENTION,
  parseChannel,
} from "@mg-sync/crdt-core";
import { type AccessToken, type GrantRequest, mintToken, verifyToken } from "./access-token.js";
import { handleChannelGroups } from "./endpoints/channel-groups.js";
import { handleGrant, handleRevoke } from "./endpoints/grant.js";
import { handleHeartbeat, handleLeave } from "./endpoints/heartbeat.js";
import { handleHereNow, handleWhereNow } from "./endpoints/here-now.js";
import { handleDeleteMessages, handleFetchMessages, handleMessageCounts } from "./endpoints/history.js";
import { handleGetState, handleSetState } from "./endpoints/presence-state.js";
import { handlePublish } from "./endpoints/publish.js";
import { handleSubscribe } from "./endpoints/subscribe.js";
import { handleTime } from "./endpoints/time.js";
import { type FaultAction, type FaultHandle, FaultInjector, type FaultRule, faultBody } from "./faults.js";
import { KeySpace, type KeySpaceSettings, type KeysetConfig } from "./keyspace.js";
import type { StoredMessage } from "./message-store.js";
import type { PresenceLimits } from "./presence-registry.js";
import { type EmulatorSettings, RequestContext } from "./request-context.js";
import { type EmulatorEndpoint, matchRoute, type Route, routeChannels } from "./routes.js";
import { TimetokenClock } from "./timetoken-clock.js";
import { pubnubDecode, rawQueryPairs, sendJson } from "./wire.js";

export interface EmulatorKeyset {
  readonly subscribeKey: string;
  readonly publishKey: string;
  /** The keyset's secret key: verifies request signatures and signs Access Manager tokens. */
  readonly secretKey?: string;
  /** Access Manager on: every request needs a token that grants it (default: when `secretKey` is set). */
  readonly accessManager?: boolean;
}

export interface PubNubEmulatorOptions {
  /** Port on 127.0.0.1; default 0, a free port chosen by the OS. */
  readonly port?: number;
  /**
   * The keysets it serves. Default: any subscribe/publish key pair, each subscribe key its own
   * namespace, no Access Manager.
   */
  readonly keysets?: readonly EmulatorKeyset[];
  /** Wall clock in ms (default `Date.now`): timetokens, presence timeouts, retention, tokens. */
  readonly now?: () => number;
  /**
   * History retention per channel. Default: spec 9.1 for the project's channel names
   * (`channelRetention` of crdt-core) and `DEFAULT_CHANNEL_RETENTION` (100 messages, 24 h) for
   * any other name.
   */
  readonly retention?: (channel: string) => ChannelRetention;
  /** How long an idle long-poll is held before an empty answer; default 280 s, as PubNub (§5.4). */
  readonly subscribeHoldMs?: number;
  /** Subscribe cache per channel: what a client resuming from an old cursor can still get. */
  readonly subscribeCacheSize?: number;
  readonly subscribeCacheMs?: number;
  readonly presence?: Partial<PresenceLimits> & {
    /** How often timeouts and interval events are checked; default 1000 ms. */
    readonly sweepMs?: number;
  };
  /** Publish limit in bytes (escaped message plus channel); default 32 KiB (§11). */
  readonly maxMessageBytes?: number;
  /** Allowed clock skew of signed requests; default 600 s. */
  readonly signatureWindowSeconds?: number;
  /** Requests kept in `requests`; default 2000. */
  readonly requestLogSize?: number;
}

export interface RequestLogEntry {
  readonly method: string;
  readonly endpoint: EmulatorEndpoint | "unknown";
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly uuid: string;
  /** HTTP status answered; `undefined` when the connection closed without an answer. */
  status: number | undefined;
  readonly atMs: number;
}

const DEFAULT_PRESENCE: PresenceLimits = {
  defaultTimeoutSeconds: 300,
  // PubNub clamps announced timeouts (the SDK itself clamps above 320 s).
  minTimeoutSeconds: 20,
  maxTimeoutSeconds: 320,
  announceMax: 20,
  intervalSeconds: 10,
};

function defaultRetention(channel: string): ChannelRetention {
  return parseChannel(channel).ok ? channelRetention(channel) : DEFAULT_CHANNEL_RETENTION;
}

const MAX_BODY_BYTES = 1 << 20;

export class PubNubEmulator {
  readonly #options: PubNubEmulatorOptions;
  readonly #now: () => number;
  readonly #clock: TimetokenClock;
  readonly #settings: EmulatorSettings;
  readonly #spaceSettings: KeySpaceSettings;
  readonly #spaces = new Map<string, KeySpace>();
  readonly #faults = new FaultInjector();
  readonly #log: RequestLogEntry[] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port: number;
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(options: PubNubEmulatorOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#clock = new TimetokenClock(this.#now);
    this.#port = options.port ?? 0;
    this.#settings = {
      now: this.#now,
      maxMessageBytes: options.maxMessageBytes ?? 32 * 1024,
      subscribeHoldMs: options.subscribeHoldMs ?? 280_000,
      signatureWindowSeconds: options.signatureWindowSeconds ?? 600,
      maxMessageCount: 10_000,
    };
    this.#spaceSettings = {
      retention: options.retention ?? defaultRetention,
      feed: {
        perChannel: options.subscribeCacheSize ?? 100,
        maxAgeMs: options.subscribeCacheMs ?? 10 * 60_000,
        maxPerResponse: 100,
      },
      presence: { ...DEFAULT_PRESENCE, ...stripUndefined(options.presence ?? {}) },
    };
    for (const keyset of options.keysets ?? []) {
      this.#spaces.set(
        keyset.subscribeKey,
        this.#newSpace({
          subscribeKey: keyset.subscribeKey,
          publishKey: keyset.publishKey,
          secretKey: keyset.secretKey,
          accessManager: keyset.accessManager ?? keyset.secretKey !== undefined,
        }),
      );
    }
  }

  /** Creates and starts an emulator. */
  static async start(options: PubNubEmulatorOptions = {}): Promise<PubNubEmulator> {
    const emulator = new PubNubEmulator(options);
    await emulator.start();
    return emulator;
  }

  #newSpace(config: KeysetConfig): KeySpace {
    return new KeySpace(config, this.#spaceSettings, this.#clock, this.#now);
  }

  /** The port it listens on (after `start`). */
  get port(): number {
    return this.#port;
  }

  /** What to pass as the SDK's `origin` (host:port, no scheme; with `ssl: false`). */
  get origin(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Starts listening; on a restart, on the same port as before. State survives a stop/start. */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer({ maxHeaderSize: 256 * 1024, keepAliveTimeout: 5_000 }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          sendJson(res, 500, { status: 500, message: `emulator error: ${String(error)}`, error: true });
      });
    });
    server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    const sweepMs = this.#options.presence?.sweepMs ?? 1000;
    this.#sweep = setInterval(() => this.sweepPresence(), sweepMs);
    this.#sweep.unref();
  }

  /** Stops listening and cuts every connection, held long-polls included (§10.1). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  /** Stops and starts again on the same port, keeping every message, group and token. */
  async restart(downtimeMs = 0): Promise<void> {
    await this.stop();
    if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.start();
  }

  /** Cuts every open connection now without stopping (a network blip). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  injectFault(rule: FaultRule): FaultHandle {
    return this.#faults.add(rule);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Recent requests, oldest first. */
  get requests(): readonly RequestLogEntry[] {
    return this.#log;
  }

  clearRequestLog(): void {
    this.#log.length = 0;
  }

  /** Runs presence timeouts and interval events now (the sweep timer also does, every second). */
  sweepPresence(): void {
    for (const space of this.#spaces.values()) space.presence.sweep();
  }

  #space(subscribeKey: string): KeySpace | undefined {
    let space = this.#spaces.get(subscribeKey);
    if (space === undefined && this.#options.keysets === undefined) {
      space = this.#newSpace({
        subscribeKey,
        publishKey: undefined,
        secretKey: undefined,
        accessManager: false,
      });
      this.#spaces.set(subscribeKey, space);
    }
    return space;
  }

  #spaceOrThrow(subscribeKey: string | undefined): KeySpace {
    const only = this.#spaces.size === 1 ? [...this.#spaces.keys()][0] : undefined;
    const key = subscribeKey ?? this.#options.keysets?.[0]?.subscribeKey ?? only;
    if (key === undefined)
      throw new TypeError(
        "subscribeKey is required: the emulator has no keysets and has seen several or no keys",
      );
    const space = this.#space(key);
    if (space === undefined)
      throw new RangeError(`subscribeKey ${JSON.stringify(key)} is not one of the emulator's keysets`);
    return space;
  }

  /** Mints a token as a signed grant would (server-side helper for tests and demos). */
  grantToken(request: GrantRequest, subscribeKey?: string): string {
    const space = this.#spaceOrThrow(subscribeKey);
    if (space.config.secretKey === undefined)
      throw new RangeError("grantToken: the keyset has no secretKey, so it cannot sign tokens");
    return mintToken(space.config.secretKey, request, Math.floor(this.#now() / 1000));
  }

  /** Reads a token minted for a keyset; `undefined` if it does not verify. */
  parseToken(token: string, subscribeKey?: string): AccessToken | undefined {
    const space = this.#spaceOrThrow(subscribeKey);
    return space.config.secretKey === undefined ? undefined : verifyToken(space.config.secretKey, token);
  }

  /** The channel's history as stored now (retention applied), oldest first. */
  storedMessages(channel: string, subscribeKey?: string): readonly StoredMessage[] {
    return this.#spaceOrThrow(subscribeKey).messages.fetch(channel, { max: Number.MAX_SAFE_INTEGER });
  }

  /** Who is present on a channel now. */
  occupants(channel: string, subscribeKey?: string): readonly string[] {
    return this.#spaceOrThrow(subscribeKey).presence.occupants(channel);
  }

  /** Long-polls being held right now (all keysets). */
  get heldPolls(): number {
    let n = 0;
    for (const space of this.#spaces.values()) n += space.feed.pendingPolls;
    return n;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = rawQueryPairs(q < 0 ? "" : url.slice(q));
    const query = new Map<string, string>();
    for (const [k, v] of rawQuery) {
      const key = pubnubDecode(k);
      const value = pubnubDecode(v);
      if (key === undefined || value === undefined) {
        sendJson(res, 400, { status: 400, message: "Malformed query string", error: true });
        return;
      }
      query.set(key, value);
    }
    const route = matchRoute(method, rawPath.split("/").slice(1));
    const entry: RequestLogEntry = {
      method,
      endpoint: route?.endpoint ?? "unknown",
      path: rawPath,
      query: Object.fromEntries(query),
      uuid: query.get("uuid") ?? "",
      status: undefined,
      atMs: this.#now(),
    };
    this.#log.push(entry);
    const logSize = this.#options.requestLogSize ?? 2000;
    if (this.#log.length > logSize) this.#log.splice(0, this.#log.length - logSize);
    res.on("finish", () => {
      entry.status = res.statusCode;
    });

    if (method === "OPTIONS") {
      res.writeHead(204, {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Content-Encoding, Accept",
      });
      res.end();
      return;
    }
    if (route === undefined) {
      sendJson(res, 404, { status: 404, message: "Not Found", error: true, service: "Emulator" });
      return;
    }

    const body = await readBody(req);
    if (body instanceof Error) {
      sendJson(res, 400, { status: 400, message: body.message, error: true });
      return;
    }

    const fault = this.#faults.take(route.endpoint, routeChannels(route), entry.uuid);
    if (fault !== undefined && (await this.#applyFault(fault, req, res))) return;
    if (res.destroyed) return;

    if (route.endpoint === "time") {
      handleTime(res, this.#clock);
      return;
    }
    const space = this.#space(route.subscribeKey);
    if (space === undefined) {
      sendJson(res, 400, {
        status: 400,
        message: "Invalid Subscribe Key",
        error: true,
        service: "Access Manager",
      });
      return;
    }
    const ctx = new RequestContext({
      method,
      rawPath,
      rawQuery,
      query,
      body,
      space,
      settings: this.#settings,
      res,
    });
    await dispatch(ctx, route);
  }

  /** Applies a fault; true when the request is finished (answered or dropped). */
  async #applyFault(fault: FaultAction, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (fault.type) {
      case "status":
        sendJson(
          res,
          fault.status,
          fault.body ?? faultBody(fault.status),
          fault.retryAfterSeconds !== undefined ? { "Retry-After": String(fault.retryAfterSeconds) } : {},
        );
        return true;
      case "drop":
        req.socket.destroy();
        return true;
      case "hold": {
        if (fault.ms === undefined) return true; // never answered; the client gives up or the socket closes
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, fault.ms);
          res.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return res.destroyed || res.writableEnded;
      }
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function readBody(req: IncomingMessage): Promise<string | undefined | Error> {
  if (req.method === "GET" || req.method === "HEAD") {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return new Error("Request body too large");
    chunks.push(buffer);
  }
  if (chunks.length === 0) return undefined;
  let raw = Buffer.concat(chunks);
  const encoding = (req.headers["content-encoding"] ?? "").toLowerCase();
  try {
    if (encoding === "deflate") {
      try {
        raw = inflateSync(raw);
      } catch {
        raw = inflateRawSync(raw);
      }
    } else if (encoding === "gzip") raw = gunzipSync(raw);
  } catch {
    return new Error(`Body is not valid ${encoding}`);
  }
  return raw.toString("utf8");
}

function dispatch(ctx: RequestContext, route: Exclude<Route, { endpoint: "time" }>): void | Promise<void> {
  switch (route.endpoint) {
    case "publish":
    case "signal":
      return handlePublish(ctx, route);
    case "subscribe":
      return handleSubscribe(ctx, route);
    case "heartbeat":
      return handleHeartbeat(ctx, route);
    case "leave":
      return handleLeave(ctx, route);
    case "here-now":
      return handleHereNow(ctx, route);
    case "where-now":
      return handleWhereNow(ctx, route);
    case "get-state":
      return handleGetState(ctx, route);
    case "set-state":
      return handleSetState(ctx, route);
    case "fetch-messages":
      return handleFetchMessages(ctx, route);
    case "message-counts":
      return handleMessageCounts(ctx, route);
    case "delete-messages":
      return handleDeleteMessages(ctx, route);
    case "channel-groups":
      return handleChannelGroups(ctx, route);
    case "grant":
      return handleGrant(ctx, route);
    case "revoke":
      return handleRevoke(ctx, route);
  }
}
