/**
 * `PubNubTransport`: the Transport interface of crdt-core over the official, unmodified `pubnub`
 * SDK (12.x). The SDK does the protocol; this file maps its calls, listeners and statuses onto
 * the Transport's guarantees (transport.ts) and adds what the SDK leaves to the application:
 *
 * - **Payloads** are wrapped (`{"p": payload}`, payload-envelope.ts) because the SDK refuses falsy
 *   messages, and sized before publishing: over `maxMessageBytes` is `payload_too_large`.
 * - **Reconnects.** The SDK retries a failed long-poll a few times on its own (its retry policy,
 *   subscribe only) and resumes from its cursor, silently (research §11). When it gives up it
 *   reports `PNDisconnectedUnexpectedlyCategory`: we emit `disconnected`, call the SDK's
 *   `reconnect()` on our own backoff (crdt-core `backoffDelayMs`), which keeps the cursor
 *   (`restore`), and once connected we fetch from history what the subscribe cache no longer
 *   holds (catch-up.ts), deliver it, then the live messages that arrived meanwhile, then emit
 *   `reconnected` with `gap` when history did not reach back.
 * - **Presence.** A device announces its own heartbeat interval; the server times it out after
 *   two missed intervals (DEVIATIONS 7), so each heartbeat carries `heartbeat = 2 × interval`
 *   (PubNub's presence timeout; the SDK caps it at 320 s). The SDK fixes that value per
 *   instance, so explicit heartbeats and leaves go through small helper instances, one per
 *   timeout value, that never subscribe (presence-helpers.ts).
 * - **Access Manager.** `setToken` hands a v3 token to every instance; a 403 is an
 *   `access-denied` status (and `access_denied` error), and the refused channels are dropped
 *   from the subscription so the rest keeps flowing.
 * - **Encryption** is never the SDK's `cryptoModule`: crdt-core encrypts payloads (AES-256-GCM,
 *   channel as AAD, DEVIATIONS 10) before they reach `publish`.
 */
import {
  type BackoffOptions,
  backoffDelayMs,
  type ChannelRetention,
  channelRetention,
  type HeartbeatOptions,
  type HereNowOccupant,
  type HereNowResult,
  type HistoryOptions,
  type HistoryResult,
  PRESENCE_SUFFIX,
  type PublishOptions,
  parseChannel,
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
import PubNub from "pubnub";
import { catchUpChannel, type FetchHistoryPage } from "./catch-up.js";
import { toTransportError } from "./errors.js";
import { ENVELOPE_OVERHEAD_BYTES, unwrapPayload, utf8Length, wrapPayload } from "./payload-envelope.js";
import { PresenceHelpers, presenceTimeoutFor } from "./presence-helpers.js";
import { unreadable } from "./token-permissions.js";

/** PubNub's publish limit: 32 KiB, escaped channel name included (research §11). */
export const PUBNUB_MAX_PUBLISH_BYTES = 32 * 1024;
/**
 * What `publish` accepts, in UTF-8 bytes of the payload's JSON: PubNub's 32 KiB less the wrapper
 * and room for the longest channel name (92) and `meta`. Constant, so callers can chunk against
 * it (DEVIATIONS 9) without knowing the channel.
 */
export const PUBNUB_TRANSPORT_MAX_MESSAGE_BYTES = PUBNUB_MAX_PUBLISH_BYTES - 512;

/** Spec 8.1: a heartbeat every 30 s until the device says otherwise. */
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 30;

export interface PubNubTransportOptions {
  readonly subscribeKey: string;
  /** Needed to publish; a read-only client may leave it out. */
  readonly publishKey?: string;
  /** This client's id (PubNub's `userId`): the publisher of what it sends, the uuid in presence. */
  readonly userId: string;
  /** `host[:port]` without a scheme (research §2); default PubNub's own origins. */
  readonly origin?: string | readonly string[];
  /** Default true; false for the local emulator (`http://`). */
  readonly ssl?: boolean;
  /** An Access Manager v3 token (minted by a server); `setToken` replaces it. */
  readonly token?: string;
  /** Server-side only: signs every request, bypassing tokens. Never ship it to a device. */
  readonly secretKey?: string;
  /** The heartbeat interval announced until the first `heartbeat` call; default 30 s (spec 8.1). */
  readonly heartbeatIntervalSeconds?: number;
  /**
   * The SDK's own retry policy for the subscribe long-poll before it reports a disconnect.
   * Default: exponential, 2 s then 4 s (PubNub's minimum), two retries, subscribe only.
   */
  readonly retryConfiguration?: PubNub.RequestRetryPolicy;
  /** Our reconnect loop after the SDK gives up; default 1 s doubling to 30 s (spec 6.2). */
  readonly reconnectBackoff?: BackoffOptions;
  /**
   * History retention per channel, for gap detection and for publishing with a matching `ttl`
   * and `store=0` where nothing is kept. Default: spec 9.1 (`channelRetention`) for the
   * project's channel names, unknown (`undefined`) for others.
   */
  readonly retention?: (channel: string) => ChannelRetention | undefined;
  /** Send PubNub's per-message `ttl` (hours) from the channel's retention; default true. */
  readonly publishRetentionTtl?: boolean;
  /** Most messages fetched per channel in one catch-up; more is a gap. Default 1000. */
  readonly maxCatchUpMessages?: number;
  /** Wall clock (ms) for gap decisions; default `Date.now`. */
  readonly now?: () => number;
  /** Anything else for the SDK (`logLevel`, `keepAlive`, timeouts). Never `cryptoModule`. */
  readonly sdk?: Partial<PubNub.PubNubConfiguration>;
}

function defaultRetention(channel: string): ChannelRetention | undefined {
  return parseChannel(channel).ok ? channelRetention(channel) : undefined;
}

function validateOrigin(origin: string): void {
  // `http://` in origin yields `http://http://…`, which hangs (research §2).
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(origin) || origin.includes("/"))
    throw new RangeError(
      `options.origin must be host[:port] without a scheme or path, got ${JSON.stringify(origin)}`,
    );
}

interface PendingSubscribe {
  readonly channels: readonly string[];
  readonly groups: readonly string[];
  readonly resolve: () => void;
  readonly reject: (error: TransportError) => void;
}

type ConnectionState = "idle" | "connecting" | "connected" | "disconnected" | "denied" | "closed";

/** Most timetokens remembered per channel to drop the duplicates a catch-up can cause. */
const DEDUPE_WINDOW = 1000;

export class PubNubTransport implements Transport {
  readonly clientId: string;
  readonly maxMessageBytes = PUBNUB_TRANSPORT_MAX_MESSAGE_BYTES;

  readonly #pubnub: PubNub;
  readonly #presence: PresenceHelpers;
  readonly #options: PubNubTransportOptions;
  readonly #retention: (channel: string) => ChannelRetention | undefined;
  readonly #now: () => number;
  readonly #listeners = new Set<TransportListener>();

  /** Data channels and groups subscribed, and which of them with presence. */
  readonly #channels = new Set<string>();
  readonly #groups = new Set<string>();
  readonly #presenceChannels = new Set<string>();
  readonly #presenceGroups = new Set<string>();
  /** Per channel: the newest timetoken delivered. Per channel or group: the cursor it went live at. */
  readonly #lastSeen = new Map<string, Timetoken>();
  readonly #liveSince = new Map<string, Timetoken>();
  readonly #recent = new Map<string, Set<Timetoken>>();

  #state: ConnectionState = "idle";
  #pending: PendingSubscribe[] = [];
  #reconnectAttempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** While catching up after a reconnect, live messages wait here so order is kept. */
  #catchUpBuffer: TransportMessage[] | undefined;
  #lastBeforeDisconnect: Timetoken | undefined;

  constructor(options: PubNubTransportOptions) {
    if (typeof options.userId !== "string" || options.userId === "")
      throw new TypeError("options.userId must be a non-empty string");
    if (typeof options.subscribeKey !== "string" || options.subscribeKey === "")
      throw new TypeError("options.subscribeKey must be a non-empty string");
    const origins =
      options.origin === undefined
        ? []
        : typeof options.origin === "string"
          ? [options.origin]
          : options.origin;
    for (const origin of origins) validateOrigin(origin);
    if (options.sdk !== undefined && ("cryptoModule" in options.sdk || "cipherKey" in options.sdk))
      throw new TypeError(
        "options.sdk must not set cryptoModule or cipherKey: payloads are encrypted by crdt-core (AES-256-GCM)",
      );
    const interval = options.heartbeatIntervalSeconds ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS;
    if (!(interval > 0))
      throw new RangeError(`options.heartbeatIntervalSeconds must be positive, got ${interval}`);

    this.clientId = options.userId;
    this.#options = options;
    this.#retention = options.retention ?? defaultRetention;
    this.#now = options.now ?? Date.now;

    const base: PubNub.PubNubConfiguration = {
      ...options.sdk,
      subscribeKey: options.subscribeKey,
      userId: options.userId,
      ...(options.publishKey !== undefined ? { publishKey: options.publishKey } : {}),
      ...(options.secretKey !== undefined ? { secretKey: options.secretKey } : {}),
      ...(options.origin !== undefined
        ? { origin: typeof options.origin === "string" ? options.origin : [...options.origin] }
        : {}),
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    };
    this.#pubnub = new PubNub({
      ...base,
      // The presence timeout the SDK's own join heartbeats announce; see `heartbeat` below.
      presenceTimeout: presenceTimeoutFor(interval),
      retryConfiguration: options.retryConfiguration ?? defaultRetryPolicy(),
    });
    // `presenceTimeout` also starts the SDK's own heartbeat loop (interval = timeout/2 − 1);
    // heartbeats are the sync client's to send (`heartbeat`), so the loop is switched off. The
    // SDK still heartbeats once when a subscription changes, with the right timeout.
    this.#pubnub.heartbeatInterval = 0;
    this.#presence = new PresenceHelpers(base);
    if (options.token !== undefined) this.setToken(options.token);

    this.#pubnub.addListener({
      message: (event) => this.#onMessage(event),
      presence: (event) => this.#onPresence(event),
      status: (event) => this.#onStatus(event),
    });
  }

  /** The SDK instance, for what the Transport interface does not cover. */
  get pubnub(): PubNub {
    return this.#pubnub;
  }

  #unreadable(channels: readonly string[], groups: readonly string[]): string[] {
    const token = this.#pubnub.getToken();
    if (token === undefined) return [];
    let parsed: PubNub.PAM.Token | undefined;
    try {
      parsed = this.#pubnub.parseToken(token);
    } catch {
      return [];
    }
    return unreadable(parsed, channels, groups);
  }

  /** Replaces the Access Manager token on every request from now on (e.g. a refreshed one). */
  setToken(token: string): void {
    this.#pubnub.setToken(token);
    this.#presence.setToken(token);
    if (this.#state === "denied" && (this.#channels.size > 0 || this.#groups.size > 0)) {
      this.#state = "disconnected";
      this.#scheduleReconnect(0);
    }
  }

  addListener(listener: TransportListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #emitStatus(status: TransportStatus): void {
    for (const listener of [...this.#listeners]) listener.status?.(status);
  }

  #assertOpen(operation: TransportOperation): void {
    if (this.#state === "closed") throw new TransportError("closed", operation, "the transport is closed");
  }

  // -------------------------------------------------------------------------------------------
  // Publish and history

  async publish(
    channel: string,
    payload: unknown,
    options: PublishOptions = {},
  ): Promise<{ readonly timetoken: Timetoken }> {
    this.#assertOpen("publish");
    if (typeof channel !== "string" || channel === "")
      throw new TransportError("invalid_argument", "publish", "channel must be a non-empty string");
    let payloadJson: string | undefined;
    try {
      payloadJson = JSON.stringify(payload);
    } catch (error) {
      throw new TransportError("invalid_argument", "publish", `payload is not JSON: ${String(error)}`);
    }
    if (payloadJson === undefined)
      throw new TransportError("invalid_argument", "publish", "payload is not a JSON value");
    const bytes = utf8Length(payloadJson);
    if (bytes > this.maxMessageBytes)
      throw new TransportError(
        "payload_too_large",
        "publish",
        `payload is ${bytes} bytes of JSON; PubNub takes at most ${this.maxMessageBytes} per message (split it, DEVIATIONS 9)`,
      );
    const metaBytes = options.meta === undefined ? 0 : utf8Length(JSON.stringify(options.meta));
    const total = bytes + ENVELOPE_OVERHEAD_BYTES + utf8Length(encodeURIComponent(channel)) + metaBytes;
    if (total > PUBNUB_MAX_PUBLISH_BYTES)
      throw new TransportError(
        "payload_too_large",
        "publish",
        `payload, channel and meta come to ${total} bytes; PubNub takes at most ${PUBNUB_MAX_PUBLISH_BYTES}`,
      );

    const retention = this.#retention(channel);
    const store = options.storeInHistory !== false && retention?.count !== 0;
    const ttlHours =
      store && retention !== undefined && this.#options.publishRetentionTtl !== false
        ? Math.max(1, Math.ceil(retention.durationMs / 3_600_000))
        : undefined;
    try {
      const response = await this.#pubnub.publish({
        channel,
        message: wrapPayload(payload) as unknown as PubNub.Payload,
        storeInHistory: store,
        // POST: a deflated body instead of an escaped URL (research §5.2, §11).
        sendByPost: true,
        ...(options.meta !== undefined ? { meta: options.meta as PubNub.Payload } : {}),
        ...(ttlHours !== undefined ? { ttl: ttlHours } : {}),
      });
      return { timetoken: String(response.timetoken) };
    } catch (error) {
      throw this.#failure(error, "publish", [channel]);
    }
  }

  /** Maps an SDK failure, emitting `access-denied` for a 403. */
  #failure(error: unknown, operation: TransportOperation, channels: readonly string[]): TransportError {
    const mapped = toTransportError(error, operation);
    if (mapped.code === "access_denied")
      this.#emitStatus({
        type: "access-denied",
        operation,
        channels: [...channels],
        message: mapped.message,
      });
    return mapped;
  }

  async history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    this.#assertOpen("history");
    const count = options.count ?? 100;
    if (!Number.isInteger(count) || count < 1 || count > 100)
      throw new TransportError(
        "invalid_argument",
        "history",
        `count must be an integer in 1..100, got ${count}`,
      );
    const messages = await this.#fetchPage(channel, {
      count,
      ...(options.start !== undefined ? { start: options.start } : {}),
      ...(options.end !== undefined ? { end: options.end } : {}),
    });
    return { messages };
  }

  readonly #fetchPage: FetchHistoryPage = async (channel, range) => {
    try {
      const response = await this.#pubnub.fetchMessages({
        channels: [channel],
        count: range.count,
        includeMeta: true,
        includeUUID: true,
        ...(range.start !== undefined ? { start: range.start } : {}),
        ...(range.end !== undefined ? { end: range.end } : {}),
      });
      const items = response.channels[channel] ?? [];
      return items.map(
        (item): TransportMessage => ({
          channel,
          subscription: channel,
          timetoken: String(item.timetoken),
          publisher: item.uuid ?? "",
          payload: unwrapPayload(item.message),
          ...(isRecord(item.meta) ? { meta: item.meta } : {}),
        }),
      );
    } catch (error) {
      throw this.#failure(error, "history", [channel]);
    }
  };

  // -------------------------------------------------------------------------------------------
  // Subscribe

  async subscribe(options: SubscribeOptions): Promise<void> {
    this.#assertOpen("subscribe");
    const channels = [...new Set(options.channels ?? [])];
    const groups = [...new Set(options.channelGroups ?? [])];
    if (channels.length === 0 && groups.length === 0)
      throw new TransportError("invalid_argument", "subscribe", "give at least one channel or channel group");
    for (const name of [...channels, ...groups])
      if (typeof name !== "string" || name === "" || name.endsWith(PRESENCE_SUFFIX))
        throw new TransportError(
          "invalid_argument",
          "subscribe",
          `not a data channel or group name: ${JSON.stringify(name)}`,
        );
    const withPresence = options.withPresence === true;
    const newChannels = channels.filter(
      (c) => !this.#channels.has(c) || (withPresence && !this.#presenceChannels.has(c)),
    );
    const newGroups = groups.filter(
      (g) => !this.#groups.has(g) || (withPresence && !this.#presenceGroups.has(g)),
    );
    if (newChannels.length === 0 && newGroups.length === 0 && this.#state === "connected") return;
    const refused = this.#unreadable(
      withPresence ? [...newChannels, ...newChannels.map((c) => `${c}${PRESENCE_SUFFIX}`)] : newChannels,
      withPresence ? [...newGroups, ...newGroups.map((g) => `${g}${PRESENCE_SUFFIX}`)] : newGroups,
    );
    if (refused.length > 0) {
      const message = `the token does not grant read on ${refused.join(", ")}`;
      this.#emitStatus({ type: "access-denied", operation: "subscribe", channels: refused, message });
      throw new TransportError("access_denied", "subscribe", message);
    }

    for (const c of channels) this.#channels.add(c);
    for (const g of groups) this.#groups.add(g);
    if (withPresence) {
      for (const c of channels) this.#presenceChannels.add(c);
      for (const g of groups) this.#presenceGroups.add(g);
    }
    const wanted = {
      channels: withPresence ? [...channels, ...channels.map((c) => `${c}${PRESENCE_SUFFIX}`)] : channels,
      groups: withPresence ? [...groups, ...groups.map((g) => `${g}${PRESENCE_SUFFIX}`)] : groups,
    };
    const live = new Promise<void>((resolve, reject) => {
      this.#pending.push({ ...wanted, resolve, reject });
    });
    if (this.#state === "idle") this.#state = "connecting";
    this.#pubnub.subscribe({ channels, channelGroups: groups, withPresence });
    return live;
  }

  async unsubscribe(options: SubscribeOptions): Promise<void> {
    this.#assertOpen("unsubscribe");
    const channels = (options.channels ?? []).filter((c) => this.#channels.has(c));
    const groups = (options.channelGroups ?? []).filter((g) => this.#groups.has(g));
    if (channels.length === 0 && groups.length === 0) return;
    this.#dropSubscriptions(channels, groups);
  }

  /** Removes channels and groups (and their presence) from the SDK's subscription. */
  #dropSubscriptions(channels: readonly string[], groups: readonly string[]): void {
    const sdkChannels: string[] = [];
    const sdkGroups: string[] = [];
    for (const c of channels) {
      this.#channels.delete(c);
      this.#liveSince.delete(c);
      sdkChannels.push(c);
      if (this.#presenceChannels.delete(c)) sdkChannels.push(`${c}${PRESENCE_SUFFIX}`);
    }
    for (const g of groups) {
      this.#groups.delete(g);
      this.#liveSince.delete(g);
      sdkGroups.push(g);
      if (this.#presenceGroups.delete(g)) sdkGroups.push(`${g}${PRESENCE_SUFFIX}`);
    }
    this.#pubnub.unsubscribe({ channels: sdkChannels, channelGroups: sdkGroups });
    if (this.#channels.size === 0 && this.#groups.size === 0) {
      this.#state = this.#state === "closed" ? "closed" : "idle";
      this.#cancelReconnect();
    }
  }

  #onMessage(event: PubNub.Subscription.Message): void {
    const message: TransportMessage = {
      channel: event.channel,
      subscription: event.subscription ?? event.channel,
      timetoken: String(event.timetoken),
      publisher: event.publisher ?? "",
      payload: unwrapPayload(event.message),
      ...(isRecord(event.userMetadata) ? { meta: event.userMetadata } : {}),
    };
    if (this.#catchUpBuffer !== undefined) this.#catchUpBuffer.push(message);
    else this.#deliver(message);
  }

  #deliver(message: TransportMessage): void {
    let recent = this.#recent.get(message.channel);
    if (recent === undefined) {
      recent = new Set();
      this.#recent.set(message.channel, recent);
    }
    if (recent.has(message.timetoken)) return;
    recent.add(message.timetoken);
    if (recent.size > DEDUPE_WINDOW) recent.delete(recent.values().next().value as Timetoken);
    const last = this.#lastSeen.get(message.channel);
    if (last === undefined || timetokenCompare(message.timetoken, last) > 0)
      this.#lastSeen.set(message.channel, message.timetoken);
    for (const listener of [...this.#listeners]) listener.message?.(message);
  }

  #onPresence(event: PubNub.Subscription.Presence): void {
    const base = {
      channel: event.channel.endsWith(PRESENCE_SUFFIX)
        ? event.channel.slice(0, -PRESENCE_SUFFIX.length)
        : event.channel,
      // Every presence payload carries `occupancy`; the SDK's type omits it for state-change.
      occupancy: (event as { readonly occupancy?: number }).occupancy ?? 0,
      timestampMs: event.timestamp * 1000,
      timetoken: String(event.timetoken),
    };
    const out: TransportPresenceEvent[] = [];
    if (event.action === "interval") {
      for (const uuid of event.join ?? []) out.push({ ...base, action: "join", uuid });
      for (const uuid of event.leave ?? []) out.push({ ...base, action: "leave", uuid });
      for (const uuid of event.timeout ?? []) out.push({ ...base, action: "timeout", uuid });
    } else {
      const state = "state" in event ? event.state : undefined;
      out.push({
        ...base,
        action: event.action,
        uuid: event.uuid,
        ...(state !== undefined ? { state } : {}),
      });
    }
    for (const presenceEvent of out)
      for (const listener of [...this.#listeners]) listener.presence?.(presenceEvent);
  }

  #onStatus(event: PubNub.StatusEvent): void {
    if (this.#state === "closed") return;
    const category = String(event.category);
    const cursor = event.currentTimetoken === undefined ? undefined : String(event.currentTimetoken);
    switch (category) {
      case "PNConnectedCategory":
      case "PNSubscriptionChangedCategory": {
        const affectedChannels: readonly string[] = event.affectedChannels ?? [];
        const affectedGroups: readonly string[] = event.affectedChannelGroups ?? [];
        if (cursor !== undefined)
          for (const name of [...affectedChannels, ...affectedGroups])
            if (!this.#liveSince.has(name)) this.#liveSince.set(name, cursor);
        if (category === "PNSubscriptionChangedCategory" && this.#state !== "connected") return;
        if (this.#state === "disconnected") {
          void this.#onReconnected();
          return;
        }
        if (category === "PNConnectedCategory" && this.#state !== "connected") {
          this.#state = "connected";
          this.#emitStatus({
            type: "connected",
            channels: affectedChannels.filter((c) => !c.endsWith(PRESENCE_SUFFIX)),
            channelGroups: affectedGroups.filter((g) => !g.endsWith(PRESENCE_SUFFIX)),
          });
        }
        this.#resolvePending(affectedChannels, affectedGroups);
        return;
      }
      case "PNConnectionErrorCategory":
      case "PNDisconnectedUnexpectedlyCategory": {
        if (String(event.error) === "PNAccessDeniedCategory") this.#onAccessDenied();
        else this.#onLost(`${category}${event.error !== undefined ? ` (${String(event.error)})` : ""}`);
        return;
      }
      default:
        return;
    }
  }

  #resolvePending(channels: readonly string[], groups: readonly string[]): void {
    const haveChannels = new Set(channels);
    const haveGroups = new Set(groups);
    const still: PendingSubscribe[] = [];
    for (const pending of this.#pending) {
      if (
        pending.channels.every((c) => haveChannels.has(c)) &&
        pending.groups.every((g) => haveGroups.has(g))
      )
        pending.resolve();
      else still.push(pending);
    }
    this.#pending = still;
  }

  #rejectPending(error: TransportError): PendingSubscribe[] {
    const rejected = this.#pending;
    this.#pending = [];
    for (const pending of rejected) pending.reject(error);
    return rejected;
  }

  /**
   * A 403 on subscribe. If subscribes were waiting, they are what was refused: they are dropped
   * from the subscription (so the rest resumes) and rejected. Otherwise the token stopped
   * covering what was live (expired, revoked): everything stops until `setToken`.
   */
  #onAccessDenied(): void {
    const message = "subscribe refused by Access Manager (HTTP 403)";
    const refused = this.#rejectPending(new TransportError("access_denied", "subscribe", message));
    if (refused.length > 0) {
      const dataNames = (names: readonly string[]) => [
        ...new Set(names.filter((n) => !n.endsWith(PRESENCE_SUFFIX))),
      ];
      const channels = dataNames(refused.flatMap((p) => p.channels));
      const groups = dataNames(refused.flatMap((p) => p.groups));
      this.#emitStatus({
        type: "access-denied",
        operation: "subscribe",
        channels: [...channels, ...groups],
        message,
      });
      const wasConnected = this.#state === "connected";
      this.#dropSubscriptions(channels, groups);
      if (this.#channels.size > 0 || this.#groups.size > 0) {
        // The SDK re-handshakes the remaining subscription from its cursor.
        this.#state = wasConnected ? "connected" : "connecting";
        this.#pubnub.reconnect();
      }
      return;
    }
    this.#state = "denied";
    this.#emitStatus({
      type: "access-denied",
      operation: "subscribe",
      channels: [...this.#channels, ...this.#groups],
      message: `${message}; call setToken with a token that grants it`,
    });
  }

  #newestSeen(): Timetoken | undefined {
    let newest: Timetoken | undefined;
    for (const tt of this.#lastSeen.values())
      if (newest === undefined || timetokenCompare(tt, newest) > 0) newest = tt;
    return newest;
  }

  #onLost(reason: string): void {
    if (this.#state === "idle" || this.#state === "denied") return;
    if (this.#state !== "disconnected") {
      this.#state = "disconnected";
      this.#lastBeforeDisconnect = this.#newestSeen();
      this.#emitStatus({ type: "disconnected", reason });
      this.#rejectPending(
        new TransportError(
          "network",
          "subscribe",
          `${reason}; the subscription stays and resumes on reconnect`,
        ),
      );
    }
    this.#scheduleReconnect(backoffDelayMs(this.#reconnectAttempt++, this.#options.reconnectBackoff));
  }

  #scheduleReconnect(delayMs: number): void {
    this.#cancelReconnect();
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state === "disconnected") this.#pubnub.reconnect();
    }, delayMs);
  }

  #cancelReconnect(): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
  }

  /** Back after a disconnect: the SDK resumes from its cursor; history fills in the rest. */
  async #onReconnected(): Promise<void> {
    this.#state = "connected";
    this.#reconnectAttempt = 0;
    const lastTimetoken = this.#lastBeforeDisconnect;
    const buffer: TransportMessage[] = [];
    this.#catchUpBuffer = buffer;
    let gap = false;
    try {
      const groups = [...this.#groups];
      const memberLists = await Promise.all(
        groups.map((g) => this.listChannelsInGroup(g).catch((): readonly string[] => [])),
      );
      const channels = new Map<string, Timetoken | undefined>();
      for (const c of this.#channels) channels.set(c, this.#liveSince.get(c));
      groups.forEach((g, i) => {
        for (const c of memberLists[i]!) if (!channels.has(c)) channels.set(c, this.#liveSince.get(g));
      });
      const nowMs = this.#now();
      const max = this.#options.maxCatchUpMessages ?? 1000;
      const results = await Promise.all(
        [...channels].map(async ([channel, liveSince]) => {
          const retention = this.#retention(channel);
          if (retention?.count === 0) return undefined;
          const seen = this.#lastSeen.get(channel);
          const since = seen ?? liveSince;
          if (since === undefined) return undefined;
          return catchUpChannel(
            this.#fetchPage,
            channel,
            { timetoken: since, received: seen !== undefined },
            retention,
            nowMs,
            max,
          );
        }),
      );
      const missed: TransportMessage[] = [];
      for (const result of results) {
        if (result === undefined) continue;
        gap ||= result.gap;
        missed.push(...result.messages);
      }
      missed.sort((a, b) => timetokenCompare(a.timetoken, b.timetoken));
      for (const message of missed) this.#deliver(message);
    } catch {
      // History unreachable right after reconnecting: what it would have filled cannot be known.
      gap = true;
    } finally {
      this.#catchUpBuffer = undefined;
      for (const message of buffer) this.#deliver(message);
    }
    if (this.#state !== "connected") return;
    this.#emitStatus({ type: "reconnected", lastTimetoken, gap });
    this.#resolvePending(
      [...this.#channels, ...[...this.#presenceChannels].map((c) => `${c}${PRESENCE_SUFFIX}`)],
      [...this.#groups, ...[...this.#presenceGroups].map((g) => `${g}${PRESENCE_SUFFIX}`)],
    );
  }

  // -------------------------------------------------------------------------------------------
  // Presence

  async heartbeat(options: HeartbeatOptions): Promise<void> {
    this.#assertOpen("presence");
    if (!(options.intervalSeconds > 0))
      throw new TransportError(
        "invalid_argument",
        "presence",
        `intervalSeconds must be positive, got ${options.intervalSeconds}`,
      );
    const channels = [...(options.channels ?? [])];
    const groups = [...(options.channelGroups ?? [])];
    if (channels.length === 0 && groups.length === 0) return;
    try {
      await this.#presence.heartbeat(
        presenceTimeoutFor(options.intervalSeconds),
        channels,
        groups,
        options.state,
      );
    } catch (error) {
      throw this.#failure(error, "presence", [...channels, ...groups]);
    }
  }

  async setState(options: { readonly channels: readonly string[]; readonly state: unknown }): Promise<void> {
    this.#assertOpen("presence");
    if (!isRecord(options.state))
      throw new TransportError("invalid_argument", "presence", "PubNub presence state must be a JSON object");
    try {
      await this.#pubnub.setState({
        channels: [...options.channels],
        state: options.state as PubNub.Payload,
      });
    } catch (error) {
      throw this.#failure(error, "presence", options.channels);
    }
  }

  async hereNow(options: {
    readonly channels: readonly string[];
    readonly includeState?: boolean;
  }): Promise<HereNowResult> {
    this.#assertOpen("presence");
    const channels = [...new Set(options.channels)];
    if (channels.length === 0) return { channels: {} };
    try {
      const response = await this.#pubnub.hereNow({
        channels,
        includeUUIDs: true,
        includeState: options.includeState === true,
      });
      const out: Record<string, { occupancy: number; occupants: HereNowOccupant[] }> = {};
      for (const channel of channels) {
        const entry = response.channels[channel];
        out[channel] = {
          occupancy: entry?.occupancy ?? 0,
          occupants: (entry?.occupants ?? []).map((o) =>
            o.state === null || o.state === undefined ? { uuid: o.uuid } : { uuid: o.uuid, state: o.state },
          ),
        };
      }
      return { channels: out };
    } catch (error) {
      throw this.#failure(error, "presence", channels);
    }
  }

  /**
   * Leaves presence now (a `leave` event). On PubNub a subscribed client is present by being
   * subscribed, so channels and groups this transport is subscribed to are unsubscribed (the
   * SDK sends the leave); for the others a leave is sent on its own.
   */
  async leave(options: {
    readonly channels?: readonly string[];
    readonly channelGroups?: readonly string[];
  }): Promise<void> {
    this.#assertOpen("presence");
    const channels = [...(options.channels ?? [])];
    const groups = [...(options.channelGroups ?? [])];
    const subscribedChannels = channels.filter((c) => this.#channels.has(c));
    const subscribedGroups = groups.filter((g) => this.#groups.has(g));
    const otherChannels = channels.filter((c) => !this.#channels.has(c));
    const otherGroups = groups.filter((g) => !this.#groups.has(g));
    if (subscribedChannels.length > 0 || subscribedGroups.length > 0)
      this.#dropSubscriptions(subscribedChannels, subscribedGroups);
    if (otherChannels.length > 0 || otherGroups.length > 0) {
      try {
        await this.#presence.leave(otherChannels, otherGroups);
      } catch (error) {
        throw this.#failure(error, "presence", [...otherChannels, ...otherGroups]);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Channel groups

  async addChannelsToGroup(group: string, channels: readonly string[]): Promise<void> {
    this.#assertOpen("channel-group");
    try {
      await this.#pubnub.channelGroups.addChannels({ channelGroup: group, channels: [...channels] });
    } catch (error) {
      throw this.#failure(error, "channel-group", [group]);
    }
  }

  async removeChannelsFromGroup(group: string, channels: readonly string[]): Promise<void> {
    this.#assertOpen("channel-group");
    try {
      await this.#pubnub.channelGroups.removeChannels({ channelGroup: group, channels: [...channels] });
    } catch (error) {
      throw this.#failure(error, "channel-group", [group]);
    }
  }

  async listChannelsInGroup(group: string): Promise<readonly string[]> {
    this.#assertOpen("channel-group");
    try {
      const response = await this.#pubnub.channelGroups.listChannels({ channelGroup: group });
      return response.channels;
    } catch (error) {
      throw this.#failure(error, "channel-group", [group]);
    }
  }

  async deleteChannelGroup(group: string): Promise<void> {
    this.#assertOpen("channel-group");
    try {
      await this.#pubnub.channelGroups.deleteGroup({ channelGroup: group });
    } catch (error) {
      throw this.#failure(error, "channel-group", [group]);
    }
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Unsubscribes from everything, sends one `leave` for it (spec 8.2: others see the device go
   * at once, not after a timeout), and releases every SDK instance. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const channels = [...this.#channels];
    const groups = [...this.#groups];
    this.#state = "closed";
    this.#cancelReconnect();
    this.#rejectPending(new TransportError("closed", "close", "the transport was closed"));
    // `destroy(true)`: stop without the SDK's own leave, which nobody could wait for.
    this.#pubnub.destroy(true);
    if (channels.length > 0 || groups.length > 0) {
      try {
        await this.#presence.leave(channels, groups);
      } catch {
        // Best effort: without it the device times out instead (spec 8.2, scenario 2).
      }
    }
    this.#presence.destroy();
    this.#listeners.clear();
  }
}

function defaultRetryPolicy(): PubNub.RequestRetryPolicy {
  return PubNub.ExponentialRetryPolicy({
    minimumDelay: 2,
    maximumDelay: 4,
    maximumRetry: 2,
    // Only the long-poll: a failed publish is the caller's to retry (it gets a retryable error).
    excluded: Object.values(PubNub.Endpoint).filter((e) => e !== PubNub.Endpoint.Subscribe),
  });
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
