/**
 * The device runtime (issue 5 part 3; ARCHITECTURE.md "Data flow of one change"): local state,
 * an HLC, one Transport, and everything between them.
 *
 * - **Local changes** are built as messages with crdt-core's builders (stamped by our HLC),
 *   merged at once through `applyMessageInto` (optimistic, spec 5.1 step 1), then published
 *   through the outbox (FIFO per channel, retried with backoff, never dropped while the client
 *   lives). Progress goes through the per-title throttle first (spec 5.2).
 * - **Incoming**, one path for live messages, history pages and reconciliation chunks:
 *   decrypt / decode / validate / `channelAccepts` (inbound.ts) → HLC receive (a drifting
 *   message is dropped and counted, DEVIATIONS 2) → dispatch: sync deltas and reconciliation
 *   chunks to `applyMessageInto`, device messages and transport presence to the presence
 *   tracker, commands for this device to `validateCommand` and then the app's handlers,
 *   reconciliation requests to the responder. Nothing rejected reaches state or moves the clock.
 * - **Lifecycle** (spec 6.1, 8.2, 10.3): `start()` subscribes, announces itself, catches up from
 *   history and reconciles if history no longer reaches back; heartbeats every 30 s (300 s in
 *   the background); `stop()` flushes, says goodbye and unsubscribes.
 */
import {
  activityContentId,
  activityEquals,
  applyMessageInto,
  type CancelTimer,
  type ChannelMatcher,
  ClockDriftError,
  type CommandDedupWindow,
  type CommandTarget,
  type ContentSnippet,
  commandDedupAdd,
  commandDedupEmpty,
  compileChannelPatterns,
  type DeviceActivity,
  type DeviceHeartbeatMessage,
  type DeviceJoinMessage,
  type DeviceLeaveMessage,
  type DevicePresenceState,
  type DeviceView,
  DoubleSpentDotError,
  encodeMessage,
  encryptPayload,
  GLOBAL_ANNOUNCEMENTS,
  GLOBAL_TRENDING,
  type Hlc,
  lwwMapEntries,
  type Message,
  mergeStates,
  type PartyChatMessage,
  type PlaybackState,
  parseMessage,
  platformStatusChannel,
  preferenceMessage,
  preferenceOf,
  progressOf,
  type RemoteCommand,
  type RemoteCommandMessage,
  regionUpdatesChannel,
  STATE_TYPES,
  type StateReconciliationRequestMessage,
  type StateReconciliationResponseMessage,
  type SyncChange,
  type SyncMessage,
  stateToChunks,
  syncStateClone,
  syncStateEmpty,
  syncStateEquals,
  syncStateToJSON,
  type Timetoken,
  type TransportMessage,
  type TransportPresenceEvent,
  type TransportStatus,
  timetokenCompare,
  timetokenToMs,
  type UserNotificationMessage,
  type UserSyncState,
  userDevicesChannel,
  userNotificationsChannel,
  userSyncChannel,
  validateCommand,
  watchlistAddMessage,
  watchlistItem,
  watchlistRemoveMessage,
  watchlistValues,
  watchProgressMessage,
} from "@mg-sync/crdt-core";
import { fetchHistorySince, HISTORY_PAGE_SIZE } from "./catch-up.js";
import { type FeedListener, type FeedMeta, Feeds } from "./channels/feeds.js";
import { type JoinPartyOptions, joinWatchParty, type WatchParty } from "./channels/watch-party.js";
import { ClientClock } from "./client-clock.js";
import { ClientCounters } from "./client-counters.js";
import { DevicePresence } from "./device-presence.js";
import { Emitter } from "./emitter.js";
import {
  createPayloadDecoder,
  type Decoded,
  InboundQueue,
  type InboundRejection,
  type PayloadDecoder,
} from "./inbound.js";
import { newIncarnationId } from "./incarnation.js";
import { type ResolvedOptions, resolveOptions, type SyncClientOptions } from "./options.js";
import { Outbox, type OutboxEntry } from "./outbox.js";
import { ProgressThrottle } from "./progress-throttle.js";
import { chunkBudgetBytes, ReconciliationResponder } from "./reconciliation.js";
import { restoreSnapshot, SNAPSHOT_VERSION, type SyncClientSnapshot } from "./snapshot.js";
import {
  type CommandHandler,
  CommandRejectedError,
  type FeedOptions,
  type FeedsApi,
  type PreferencesApi,
  type ProgressApi,
  type SendCommandOptions,
  type SyncClient,
  type SyncClientEvents,
  type SyncClientPhase,
  type SyncClientStats,
  SyncClientStoppedError,
  type Unsubscribe,
  type WatchlistApi,
} from "./sync-client-api.js";

export function createSyncClient(options: SyncClientOptions): SyncClient {
  return new SyncClientImpl(resolveOptions(options));
}

// ---------------------------------------------------------------------------------------------

interface InboundItem {
  readonly channel: string;
  readonly timetoken: Timetoken;
  readonly source: "live" | "history";
  readonly decoded: Decoded;
}

const SYNC_DELTA_TYPES: ReadonlySet<string> = new Set([
  "watch_progress_update",
  "watchlist_update",
  "preference_update",
]);

function isSyncDelta(message: Message): message is SyncMessage {
  return SYNC_DELTA_TYPES.has(message.msg_type);
}

/** The sender's HLC on a message, which our clock receives (`undefined`: none to receive). */
function causalTimestamp(message: Message): Hlc | undefined {
  switch (message.msg_type) {
    case "device_heartbeat":
      return message.last_active;
    case "state_reconciliation_request":
      // `last_known_state_timestamp` is the requester's past, not a send time.
      return undefined;
    case "state_reconciliation_response":
      return message.server_timestamp;
    default:
      return "timestamp" in message ? message.timestamp : undefined;
  }
}

/** The longest wait between reconciliation requests that got no complete answer. */
const MAX_RECONCILIATION_RETRY_MS = 300_000;

function wholeSeconds(what: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite non-negative number of seconds, got ${String(value)}`);
  }
  return Math.floor(value);
}

class SyncClientImpl implements SyncClient {
  readonly userId: string;
  readonly deviceId: string;
  readonly incarnation: string;
  readonly watchlist: WatchlistApi;
  readonly progress: ProgressApi;
  readonly preferences: PreferencesApi;
  readonly feeds: FeedsApi;

  readonly #o: ResolvedOptions;
  readonly #sync: string;
  readonly #devicesChannel: string;
  readonly #notifications: string;
  readonly #state: UserSyncState;
  readonly #clock: ClientClock;
  readonly #encrypted: ChannelMatcher;
  readonly #decoder: PayloadDecoder;
  readonly #inbound: InboundQueue<InboundItem>;
  readonly #outbox: Outbox;
  readonly #throttle: ProgressThrottle;
  readonly #presence: DevicePresence;
  readonly #responder: ReconciliationResponder;
  readonly #events: Emitter<SyncClientEvents>;
  readonly #commandHandlers = new Set<CommandHandler>();
  readonly #count = new ClientCounters();
  readonly #feeds: Feeds;
  readonly #lastTimetokens = new Map<string, Timetoken>();
  /** Live timetokens seen while history catch-up runs: adopted once it has. */
  readonly #deferredTimetokens = new Map<string, Timetoken>();
  #catchingUp = false;
  #commandWindow: CommandDedupWindow = commandDedupEmpty();
  #phase: SyncClientPhase = "created";
  #stopping: Promise<void> | undefined;
  #removeListener: (() => void) | undefined;
  #heartbeatSec: number;
  #backgrounded = false;
  #cancelHeartbeat: (() => void) | undefined;
  /** What the player is doing (Watching / Paused / Browsing); presence says Idle in the background. */
  #playback: DeviceActivity = "Browsing";
  #presenceState: DevicePresenceState | undefined;
  /** Our HLC when we last merged state from elsewhere (`last_known_state_timestamp`); 0: never. */
  #lastKnownStateTs: Hlc = 0;
  #queuedRequest: StateReconciliationRequestMessage | undefined;
  /**
   * This device may lack changes history can no longer give it (a start without snapshot, a
   * history gap, foreground, an explicit request): persisted in the snapshot, and cleared only
   * once one responder's answer to a request issued since has arrived whole. Until then it asks
   * again, with a fresh request id each time, on `reconnected`, when a device comes online, and
   * when an answer window passes while another device is online (with backoff).
   */
  #needsReconciliation = false;
  /**
   * Our request ids whose answers can clear `#needsReconciliation` (issued since it was last
   * set), each → responder → the chunk indexes received from it.
   */
  readonly #answering = new Map<string, Map<string, Set<number>>>();
  /** Wait before the next re-request after a window without a complete answer (doubles, capped). */
  #retryWaitMs = 0;
  #cancelRetry: CancelTimer | undefined;
  /** Our own requests still collecting answers (for the push-back, see `#pushBack`). */
  readonly #ownRequests = new Map<
    string,
    { others: UserSyncState | undefined; cancel: CancelTimer | undefined }
  >();

  constructor(options: ResolvedOptions) {
    const o = options;
    this.#o = o;
    this.userId = o.userId;
    this.deviceId = o.deviceId;
    this.incarnation = newIncarnationId(o.deviceId, o.random);
    this.#sync = userSyncChannel(o.userId);
    this.#devicesChannel = userDevicesChannel(o.userId);
    this.#notifications = userNotificationsChannel(o.userId);
    this.#heartbeatSec = o.heartbeatIntervalSec;
    this.#events = new Emitter<SyncClientEvents>((error, event) => {
      if (event !== "error") this.#fail(error);
    });

    const restored = o.snapshot === undefined ? undefined : restoreSnapshot(o.snapshot, o.deviceId);
    this.#state = restored?.state ?? syncStateEmpty();
    this.#clock = new ClientClock(o.clock, o.maxDriftMs, restored?.snapshot.hlc ?? 0);
    if (restored !== undefined) {
      this.#lastKnownStateTs = restored.snapshot.hlc;
      this.#needsReconciliation = restored.snapshot.needsReconciliation === true;
      for (const commandId of restored.snapshot.commandIds ?? []) {
        this.#commandWindow = commandDedupAdd(this.#commandWindow, commandId);
      }
      for (const [channel, timetoken] of Object.entries(restored.snapshot.lastTimetokens)) {
        this.#lastTimetokens.set(channel, timetoken);
      }
    }

    const key = o.encryptionKey;
    this.#encrypted = compileChannelPatterns(o.encryptedChannels);
    this.#decoder = createPayloadDecoder(key, this.#encrypted);
    this.#inbound = new InboundQueue((item) => this.#handleInbound(item));
    this.#outbox = new Outbox(o.transport, o.scheduler, o.random, {
      encode: (channel, message) => {
        if (key === undefined || !this.#encrypted(channel)) return message;
        return encryptPayload(key, encodeMessage(message), channel).then((enc) => ({ enc }));
      },
      published: (entry) => {
        this.#count.published++;
        if (entry.message === this.#queuedRequest) this.#queuedRequest = undefined;
        if (entry.message.msg_type === "state_reconciliation_request") this.#requestPublished(entry.message);
      },
      retrying: () => {
        this.#count.retries++;
      },
      dropped: (entry, error) => {
        this.#count.dropped++;
        if (entry.message === this.#queuedRequest) this.#queuedRequest = undefined;
        this.#fail(error, `dropped a ${entry.message.msg_type} for ${entry.channel}`);
      },
      halted: (error) => this.#fail(error, "the transport is closed; the outbox stopped"),
    });
    this.#throttle = new ProgressThrottle(
      o.progressThrottleMs,
      o.scheduler,
      () => this.#clock.nowMs(),
      (message) => {
        this.#count.progressSent++;
        this.#outbox.enqueue(this.#sync, message);
      },
    );
    this.#presence = new DevicePresence(
      () => this.#clock.nowMs(),
      o.scheduler,
      (events) => {
        this.#events.emit("devices", events);
        this.#onDevicesJoined(events);
      },
    );
    this.#responder = new ReconciliationResponder(
      o.scheduler,
      o.random,
      o.reconciliationDelayMs,
      (request, id, others) => this.#answer(request, id, others),
    );
    // Deltas made before a restart and never acknowledged: published first, in order.
    for (const message of restored?.snapshot.pending ?? []) this.#outbox.enqueue(this.#sync, message);

    this.watchlist = {
      add: (contentId, snippet) => this.#watchlistAdd(contentId, snippet),
      remove: (contentId) => this.#watchlistRemove(contentId),
      has: (contentId) => this.#state.watchlist.entries.has(contentId),
      values: () => watchlistValues(this.#state),
      item: (contentId) => watchlistItem(this.#state, contentId),
    };
    this.progress = {
      update: (contentId, positionSec, durationSec, state) =>
        this.#progressUpdate(contentId, positionSec, durationSec, state),
      get: (contentId) => progressOf(this.#state, contentId),
      entries: () => lwwMapEntries(this.#state.progress),
    };
    this.preferences = {
      set: (key, value) => this.#preferenceSet(key, value),
      get: (key) => preferenceOf(this.#state, key),
      reset: (key) => this.#preferenceSet(key, null),
    };
    this.#feeds = new Feeds(o.transport, (error) => this.#fail(error, "a feed listener threw"));
    // The notifications channel is one of the user's own (spec 2.2): subscribed by start().
    void this.#feeds.add<UserNotificationMessage>(
      this.#notifications,
      (message) => this.#events.emit("notification", message),
      { alwaysSubscribed: true },
    );
    this.feeds = {
      notifications: (listener, options) => this.#feed(this.#notifications, listener, options, true),
      trending: (listener, options) => this.#feed(GLOBAL_TRENDING, listener, options),
      announcements: (listener, options) => this.#feed(GLOBAL_ANNOUNCEMENTS, listener, options),
      region: (listener, options) => {
        const region = options?.region ?? this.#o.region;
        if (region === undefined) {
          return Promise.reject(
            new TypeError("feeds.region: pass options.region or create the client with one"),
          );
        }
        return this.#feed(regionUpdatesChannel(region), listener, options);
      },
      platformStatus: (platformId, listener, options) =>
        this.#feed(platformStatusChannel(platformId), listener, options),
    };
  }

  get phase(): SyncClientPhase {
    return this.#phase;
  }

  // -------------------------------------------------------------------------------------------
  // Local changes

  #watchlistAdd(contentId: string, snippet: ContentSnippet | undefined): void {
    this.#requireWritable("watchlist.add");
    const built = watchlistAddMessage(this.#state, {
      content_id: contentId,
      device_id: this.deviceId,
      timestamp: this.#clock.tick(),
      replica: this.incarnation,
      ...(snippet === undefined ? {} : { content_metadata: snippet }),
    });
    const message = this.#checked("watchlist.add", built);
    this.#applyLocal(message);
    this.#outbox.enqueue(this.#sync, message);
  }

  #watchlistRemove(contentId: string): boolean {
    this.#requireWritable("watchlist.remove");
    if (!this.#state.watchlist.entries.has(contentId)) return false;
    const built = watchlistRemoveMessage(this.#state, {
      content_id: contentId,
      device_id: this.deviceId,
      timestamp: this.#clock.tick(),
    });
    const message = this.#checked("watchlist.remove", built);
    this.#applyLocal(message);
    this.#outbox.enqueue(this.#sync, message);
    return true;
  }

  #progressUpdate(contentId: string, positionSec: number, durationSec: number, state: PlaybackState): void {
    this.#requireWritable("progress.update");
    const duration = wholeSeconds("progress.update: durationSec", durationSec);
    let position = wholeSeconds("progress.update: positionSec", positionSec);
    // A player may report a position a rounding past the end; peers would reject it (3.1 check).
    if (duration > 0 && position > duration) position = duration;
    const built = watchProgressMessage({
      content_id: contentId,
      progress_seconds: position,
      duration_seconds: duration,
      state,
      device_id: this.deviceId,
      device_type: this.#o.deviceType,
      timestamp: this.#clock.tick(),
    });
    const message = this.#checked("progress.update", built);
    this.#applyLocal(message);
    this.#count.progressUpdates++;
    this.#throttle.submit(message);
    this.#setPlayback(
      state === "Playing"
        ? { Watching: { content_id: message.content_id } }
        : state === "Paused"
          ? { Paused: { content_id: message.content_id } }
          : "Browsing",
    );
  }

  #preferenceSet(key: string, value: unknown): void {
    this.#requireWritable("preferences.set");
    if (value === undefined) throw new TypeError("preferences.set: value must be a JSON value (null resets)");
    const built = preferenceMessage({ key, value, device_id: this.deviceId, timestamp: this.#clock.tick() });
    const message = this.#checked("preferences.set", built);
    this.#applyLocal(message);
    this.#outbox.enqueue(this.#sync, message);
  }

  /** Validates what we are about to show and send, exactly as a peer will (DEVIATIONS 11). */
  #checked<M extends Message>(what: string, built: M): M {
    const parsed = parseMessage(built);
    if (!parsed.ok) {
      const { path, reason } = parsed.error;
      throw new RangeError(`${what}: ${path === "" ? "" : `${path} `}${reason}`);
    }
    return parsed.value as M;
  }

  #applyLocal(message: SyncMessage): void {
    const changes = this.#mergeInto(message);
    if (changes.length > 0) this.#events.emit("change", changes, "local");
  }

  #mergeInto(message: Message): SyncChange[] {
    // The one merge path (ARCHITECTURE.md): local, live, history and reconciliation alike.
    const changes = applyMessageInto(this.#state, message);
    if (changes.length > 0) this.#count.merged++;
    else this.#count.duplicates++;
    return changes;
  }

  #requireWritable(what: string): void {
    if (this.#phase === "stopping" || this.#phase === "stopped") {
      throw new SyncClientStoppedError(`${what}: the client is ${this.#phase}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Incoming

  #onTransportMessage(message: TransportMessage, source: "live" | "history"): void {
    const channel = message.channel;
    if (channel !== this.#sync && channel !== this.#devicesChannel && !this.#feeds.has(channel)) return;
    this.#count.received++;
    const timetoken = message.timetoken;
    const decoded = this.#decoder.decode(channel, message.payload);
    this.#inbound.push(
      decoded instanceof Promise
        ? decoded.then((d) => ({ channel, timetoken, source, decoded: d }))
        : { channel, timetoken, source, decoded },
    );
  }

  #handleInbound(item: InboundItem): void {
    if (this.#phase === "stopped") return;
    try {
      if (!item.decoded.ok) {
        this.#reject(item.decoded.reason, item.decoded.detail, item.channel);
        return;
      }
      const message = item.decoded.message;
      const stamp = causalTimestamp(message);
      let receivedAt = this.#clock.peek();
      if (stamp !== undefined) {
        try {
          receivedAt = this.#clock.receiving(stamp);
        } catch (error) {
          if (!(error instanceof ClockDriftError)) throw error;
          this.#reject("drift", error.message, item.channel);
          return;
        }
      }
      if (message.msg_type === "state_reconciliation_response" || isSyncDelta(message)) {
        let changes: SyncChange[];
        try {
          changes = this.#mergeInto(message);
        } catch (error) {
          if (!(error instanceof DoubleSpentDotError)) throw error;
          this.#reject("double_spent_dot", error.message, item.channel);
          return;
        }
        this.#clock.commit(receivedAt);
        if (message.msg_type === "state_reconciliation_response") {
          this.#lastKnownStateTs = this.#clock.peek();
          this.#onResponse(message);
        } else {
          if (message.device_id !== this.deviceId) this.#lastKnownStateTs = this.#clock.peek();
          this.#trackTimetoken(item);
        }
        if (changes.length > 0) this.#events.emit("change", changes, "remote");
        return;
      }
      this.#clock.commit(receivedAt);
      this.#dispatch(message, item, receivedAt);
    } catch (error) {
      this.#fail(error, `handling a message on ${item.channel}`);
    }
  }

  #dispatch(message: Message, item: InboundItem, receivedAt: Hlc): void {
    switch (message.msg_type) {
      case "state_reconciliation_request":
        if (message.device_id !== this.deviceId && this.#hasState() && this.#isLive()) {
          this.#responder.onRequest(message);
        }
        return;
      case "device_join":
      case "device_heartbeat":
      case "device_leave":
      case "presence_event":
        this.#presence.apply(message, this.#heardAt(item));
        return;
      case "remote_command":
        this.#onRemoteCommand(message, receivedAt);
        return;
      default:
        // Notifications and the typed feeds (trending, announcements, regions, status, parties).
        this.#feeds.deliver(message, {
          channel: item.channel,
          timetoken: item.timetoken,
          fromHistory: item.source === "history",
        });
        return;
    }
  }

  #onResponse(response: StateReconciliationResponseMessage): void {
    this.#count.chunksReceived++;
    const requestId = response.request_id;
    if (requestId !== undefined && response.responder_device_id !== this.deviceId) {
      this.#responder.onOtherResponse(requestId, response);
      const own = this.#ownRequests.get(requestId);
      if (own !== undefined) {
        own.others ??= syncStateEmpty();
        // Already merged into our state above, so it cannot throw a double-spent dot here.
        applyMessageInto(own.others, response);
      }
      this.#answerReceived(requestId, response);
    }
    // docs/protocol.md §7.3: each device entry is a heartbeat heard now.
    for (const heartbeat of response.devices) {
      if (heartbeat.device_id !== this.deviceId) this.#presence.apply(heartbeat);
    }
  }

  #onRemoteCommand(message: RemoteCommandMessage, receivedAt: Hlc): void {
    if (message.target_device_id !== this.deviceId) {
      this.#count.commandsIgnored++;
      return;
    }
    // Expiry on our HLC after receiving the command's timestamp (DEVIATIONS 8).
    const verdict = validateCommand(message, this.#selfTarget(), receivedAt, this.#commandWindow);
    this.#commandWindow = verdict.seen;
    if (!verdict.ok) {
      this.#count.commandsRejected[verdict.reason]++;
      this.#events.emit("commandRejected", verdict.reason, message);
      return;
    }
    this.#count.commandsExecuted++;
    for (const handler of [...this.#commandHandlers]) {
      try {
        handler(message.command, message);
      } catch (error) {
        this.#fail(error, "a command handler threw");
      }
    }
  }

  #onPresenceEvent(event: TransportPresenceEvent): void {
    if (event.channel !== this.#devicesChannel || this.#phase === "stopped") return;
    if (!this.#presence.applyTransportEvent(event)) {
      this.#reject("invalid", `presence event ${event.action} for ${event.uuid}`, event.channel);
    }
  }

  #onStatus(status: TransportStatus): void {
    if (this.#phase === "stopped") return;
    this.#events.emit("status", status);
    if (status.type !== "reconnected" || !this.#isLive()) return;
    // The transport resubscribed and replayed what it missed (transport.ts); we push what we
    // held back, refresh our presence, and reconcile if history did not reach back (10.3).
    this.#outbox.retryNow();
    this.#sendHeartbeat();
    void this.#refreshPresence();
    if (status.gap) this.#count.historyGaps++;
    // Whatever we asked before the cut may have been answered while we were away (answers are
    // not stored), or its answers were lost in the cut: ask again under a new id (bugs A, C).
    if (status.gap || this.#needsReconciliation) this.#requestFresh();
  }

  #reject(reason: InboundRejection, detail: string, channel: string): void {
    this.#count.rejected[reason]++;
    this.#events.emit("rejected", reason, detail, channel);
  }

  /** When a message was heard: now, or for history its publish time (never in our future). */
  #heardAt(item: InboundItem): number {
    const now = this.#clock.nowMs();
    return item.source === "history" ? Math.min(now, timetokenToMs(item.timetoken)) : now;
  }

  #trackTimetoken(item: InboundItem): void {
    const map = this.#catchingUp && item.source === "live" ? this.#deferredTimetokens : this.#lastTimetokens;
    advanceTimetoken(map, item.channel, item.timetoken);
  }

  #selfTarget(): CommandTarget {
    return {
      deviceId: this.deviceId,
      online: this.#isLive(),
      capabilities: this.#o.capabilities,
      currentContent: activityContentId(this.#playback),
    };
  }

  #isLive(): boolean {
    return this.#phase === "starting" || this.#phase === "running";
  }

  #hasState(): boolean {
    const s = this.#state;
    return (
      s.watchlist.context.vv.size > 0 ||
      s.watchlist.context.cloud.size > 0 ||
      s.progress.entries.size > 0 ||
      s.preferences.entries.size > 0
    );
  }

  // -------------------------------------------------------------------------------------------
  // Reconciliation

  requestReconciliation(): string {
    this.#requireWritable("requestReconciliation");
    this.#markNeedsReconciliation();
    // One request waiting in the outbox answers the triggers that come together (start,
    // foreground, the app): it is asked again anew if no answer comes.
    const queued = this.#queuedRequest;
    if (queued?.request_id !== undefined) {
      this.#answering.set(queued.request_id, new Map());
      return queued.request_id;
    }
    return this.#newRequest();
  }

  #markNeedsReconciliation(): void {
    this.#needsReconciliation = true;
    // Only answers to requests issued from now on prove we have caught up.
    this.#answering.clear();
  }

  /**
   * A new request under a new id, never the one still queued: that one may have reached the
   * server already, and responders answer a request id once (bug A).
   */
  #requestFresh(): string {
    this.#requireWritable("requestReconciliation");
    this.#markNeedsReconciliation();
    this.#queuedRequest = undefined;
    return this.#newRequest();
  }

  #newRequest(): string {
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    const timestamp = this.#clock.tick();
    const requestId = `${this.incarnation}:${timestamp}`;
    const message = this.#checked<StateReconciliationRequestMessage>("requestReconciliation", {
      msg_type: "state_reconciliation_request",
      device_id: this.deviceId,
      last_known_state_timestamp: this.#lastKnownStateTs,
      requested_states: [...STATE_TYPES],
      request_id: requestId,
    });
    this.#queuedRequest = message;
    this.#ownRequests.set(requestId, { others: undefined, cancel: undefined });
    this.#answering.set(requestId, new Map());
    this.#count.requested++;
    // Stored in history (one small message): a device away while it was asked finds it when it
    // catches up and can still answer with what only it holds. The answers are not stored: they
    // are large, and would push the deltas catch-up needs out of the channel's 100 (spec 9.1).
    this.#outbox.enqueue(this.#sync, message);
    return requestId;
  }

  /** Our request reached the transport: the answers have `reconciliationWindowMs` to come. */
  #requestPublished(request: StateReconciliationRequestMessage): void {
    const requestId = request.request_id;
    const own = requestId === undefined ? undefined : this.#ownRequests.get(requestId);
    if (requestId === undefined || own === undefined || own.cancel !== undefined) return;
    own.cancel = this.#o.scheduler.schedule(this.#o.reconciliationWindowMs, () => {
      this.#ownRequests.delete(requestId);
      this.#pushBack(request, requestId, own.others);
      this.#windowEnded();
    });
  }

  /**
   * An answer window passed. Still not reconciled (the answers were lost, or nobody held
   * state): ask again if somebody is there to answer, waiting longer each time so a household
   * of empty devices does not fill the channel with requests (bug C). A lone device waits for
   * a device to come online (`#onDevicesJoined`) or for `reconnected`.
   */
  #windowEnded(): void {
    if (!this.#needsReconciliation || !this.#isLive() || this.#cancelRetry !== undefined) return;
    if (this.#queuedRequest !== undefined || this.#requestInWindow() || !this.#otherDeviceOnline()) return;
    const wait = this.#retryWaitMs;
    this.#retryWaitMs = Math.min(
      Math.max(2 * wait, this.#o.reconciliationWindowMs),
      MAX_RECONCILIATION_RETRY_MS,
    );
    this.#cancelRetry = this.#o.scheduler.schedule(wait, () => {
      this.#cancelRetry = undefined;
      if (this.#needsReconciliation && this.#isLive() && this.#queuedRequest === undefined) {
        this.#requestFresh();
      }
    });
  }

  /** A device came online while we still need reconciliation: it may hold what we lack. */
  #onDevicesJoined(events: readonly { readonly action: string; readonly device_id: string }[]): void {
    if (!this.#needsReconciliation || !this.#isLive() || this.#phase === "starting") return;
    if (!events.some((e) => e.action === "join" && e.device_id !== this.deviceId)) return;
    // A request still waiting to go out or inside its window covers the newcomer (it reads the
    // request from history as it starts); otherwise ask now.
    if (this.#queuedRequest !== undefined || this.#requestInWindow()) return;
    this.#requestFresh();
  }

  /** One of our requests went out and its answer window is still open. */
  #requestInWindow(): boolean {
    for (const own of this.#ownRequests.values()) if (own.cancel !== undefined) return true;
    return false;
  }

  #otherDeviceOnline(): boolean {
    for (const view of this.#presence.tracker.devices.values()) {
      if (view.online && view.deviceId !== this.deviceId) return true;
    }
    return false;
  }

  /** Clears `#needsReconciliation` once one responder's answer to one of our requests is whole. */
  #answerReceived(requestId: string, response: StateReconciliationResponseMessage): void {
    if (!this.#needsReconciliation) return;
    const responders = this.#answering.get(requestId);
    if (responders === undefined) return;
    const chunk = response.chunk;
    if (chunk !== undefined) {
      const responder = response.responder_device_id ?? "";
      let seen = responders.get(responder);
      if (seen === undefined) {
        seen = new Set();
        responders.set(responder, seen);
      }
      seen.add(chunk.index);
      if (seen.size < chunk.count) return;
    }
    this.#needsReconciliation = false;
    this.#answering.clear();
    this.#retryWaitMs = 0;
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
  }

  /**
   * Anti-entropy goes both ways: if the answers to our own request did not contain everything we
   * hold (we knew something the responders had lost, e.g. a delta trimmed from history while
   * they were away), we publish our state too, as an answer to our own request. Otherwise a
   * device holding the only copy of a change would keep it to itself until somebody happened to
   * ask it.
   */
  #pushBack(
    request: StateReconciliationRequestMessage,
    requestId: string,
    others: UserSyncState | undefined,
  ): void {
    if (!this.#isLive() || !this.#hasState()) return;
    if (others !== undefined && syncStateEquals(mergeStates(others, this.#state), others)) return;
    this.#count.pushedBack++;
    this.#publishState(request, requestId);
  }

  #answer(
    request: StateReconciliationRequestMessage,
    requestId: string,
    others: UserSyncState | undefined,
  ): void {
    if (!this.#isLive()) return;
    // Other devices answered first with everything we hold: ours would add nothing.
    if (others !== undefined && syncStateEquals(mergeStates(others, this.#state), others)) {
      this.#count.suppressed++;
      return;
    }
    this.#count.answered++;
    this.#publishState(request, requestId);
  }

  /** Our whole state as `state_reconciliation_response` chunks answering `requestId`. */
  #publishState(request: StateReconciliationRequestMessage, requestId: string): void {
    try {
      const budget = chunkBudgetBytes(this.#o.transport.maxMessageBytes, this.#encrypted(this.#sync));
      const chunks = stateToChunks(this.#state, budget, {
        serverTimestamp: this.#clock.tick(),
        requestId,
        responderDeviceId: this.deviceId,
        include: request.requested_states,
        devices: this.#presence.onlineHeartbeats(),
      });
      for (const chunk of chunks) {
        this.#count.chunksSent++;
        this.#outbox.enqueue(this.#sync, chunk, { store: false });
      }
    } catch (error) {
      this.#fail(error, `answering reconciliation request ${requestId}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  async sendCommand(
    targetDeviceId: string,
    command: RemoteCommand,
    options: SendCommandOptions = {},
  ): Promise<{ readonly commandId: string }> {
    this.#requireWritable("sendCommand");
    const ttlMs = options.ttlMs ?? this.#o.commandTtlMs;
    if (typeof ttlMs !== "number" || !(ttlMs > 0)) {
      throw new RangeError(`sendCommand: options.ttlMs must be a positive number, got ${String(ttlMs)}`);
    }
    const timestamp = this.#clock.tick();
    const commandId = `${this.incarnation}:${timestamp}`;
    const message = this.#checked<RemoteCommandMessage>("sendCommand", {
      msg_type: "remote_command",
      target_device_id: targetDeviceId,
      source_device_id: this.deviceId,
      command,
      timestamp,
      expires_at: timestamp + Math.floor(ttlMs) * 1000,
      command_id: commandId,
    });
    const target =
      targetDeviceId === this.deviceId ? this.#selfTarget() : this.#presence.view(targetDeviceId);
    const verdict = validateCommand(message, target, timestamp, commandDedupEmpty(1));
    if (!verdict.ok) throw new CommandRejectedError(verdict.reason, commandId, targetDeviceId);
    this.#count.commandsSent++;
    await this.#outbox.enqueue(this.#devicesChannel, message, { awaited: true });
    return { commandId };
  }

  onCommand(handler: CommandHandler): () => void {
    if (typeof handler !== "function") throw new TypeError("onCommand: handler must be a function");
    this.#commandHandlers.add(handler);
    return () => {
      this.#commandHandlers.delete(handler);
    };
  }

  // -------------------------------------------------------------------------------------------
  // Feeds and watch parties

  async #feed<M extends Message>(
    channel: string,
    listener: FeedListener<M>,
    options: FeedOptions | undefined,
    alwaysSubscribed = false,
  ): Promise<Unsubscribe> {
    if (!this.#isLive()) throw new Error("feeds: subscribe after start() and before stop()");
    if (typeof listener !== "function") throw new TypeError("feeds: listener must be a function");
    const history = options?.history ?? 0;
    if (!Number.isSafeInteger(history) || history < 0 || history > HISTORY_PAGE_SIZE) {
      throw new RangeError(`feeds: options.history must be an integer in 0..${HISTORY_PAGE_SIZE}`);
    }
    const unsubscribe = await this.#feeds.add(channel, listener, { alwaysSubscribed });
    if (history > 0) await this.#replayHistory(channel, history);
    return unsubscribe;
  }

  /** The newest `count` messages of `channel`, through the one inbound path. */
  async #replayHistory(channel: string, count: number): Promise<void> {
    const { messages } = await this.#o.transport.history(channel, { count });
    this.#count.historyPages++;
    this.#count.historyMessages += messages.length;
    for (const message of messages) this.#onTransportMessage(message, "history");
    await this.#inbound.whenIdle();
  }

  joinParty(partyId: string, options: JoinPartyOptions): Promise<WatchParty> {
    if (!this.#isLive()) return Promise.reject(new Error("joinParty: join after start() and before stop()"));
    return joinWatchParty(
      {
        userId: this.userId,
        tick: () => this.#clock.tick(),
        publish: (channel, message) => this.#outbox.enqueue(channel, message),
        listen: (channel, listener) => this.#feeds.add<PartyChatMessage>(channel, listener),
        deliverLocal: (message, meta: FeedMeta) => this.#feeds.deliver(message, meta),
        catchUp: (channel, count) => this.#replayHistory(channel, count),
      },
      partyId,
      options,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Presence of this device

  #setPlayback(activity: DeviceActivity): void {
    if (activityEquals(this.#playback, activity)) return;
    this.#playback = activity;
    if (!this.#backgrounded) this.#publishPresenceState();
  }

  /** Our presence state (spec 8.1), locally and through the transport. */
  #publishPresenceState(): void {
    const activity: DeviceActivity = this.#backgrounded ? "Idle" : this.#playback;
    const state: DevicePresenceState = {
      device_type: this.#o.deviceType,
      activity,
      last_update: this.#clock.tick(),
      app_version: this.#o.appVersion,
    };
    this.#presenceState = state;
    this.#presence.apply({ kind: "set_state", device_id: this.deviceId, state });
    if (this.#isLive()) {
      this.#bestEffort(() => this.#o.transport.setState({ channels: [this.#devicesChannel], state }));
    }
  }

  #sendHeartbeat(): void {
    const status = this.#o.deviceStatus();
    const candidate: DeviceHeartbeatMessage = {
      msg_type: "device_heartbeat",
      device_id: this.deviceId,
      device_type: this.#o.deviceType,
      capabilities: this.#o.capabilities,
      app_version: this.#o.appVersion,
      platform: this.#o.platform,
      last_active: this.#clock.tick(),
      battery_level: status.battery_level ?? null,
      network_quality: status.network_quality,
      heartbeat_interval: this.#heartbeatSec,
    };
    const parsed = parseMessage(candidate);
    if (!parsed.ok) {
      this.#fail(new RangeError(`deviceStatus(): ${parsed.error.path} ${parsed.error.reason}`));
      return;
    }
    this.#count.heartbeatsSent++;
    // Heartbeats are liveness, not history (spec 9.1 keeps 25 device messages: joins and
    // leaves are worth them); a newer queued heartbeat replaces an unsent older one.
    this.#outbox.enqueue(this.#devicesChannel, parsed.value, { store: false, replaceKey: "heartbeat" });
    const state = this.#presenceState;
    this.#bestEffort(() =>
      this.#o.transport.heartbeat({
        channels: [this.#devicesChannel],
        intervalSeconds: this.#heartbeatSec,
        ...(state === undefined ? {} : { state }),
      }),
    );
  }

  #armHeartbeat(): void {
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = this.#o.scheduler.schedule(this.#heartbeatSec * 1000, () => {
      this.#cancelHeartbeat = undefined;
      if (!this.#isLive()) return;
      this.#sendHeartbeat();
      this.#armHeartbeat();
    });
  }

  background(): void {
    this.#requireWritable("background");
    if (this.#backgrounded) return;
    this.#backgrounded = true;
    this.#heartbeatSec = this.#o.backgroundHeartbeatIntervalSec;
    this.#publishPresenceState();
    if (this.#isLive()) {
      // Announce the longer interval now, or peers would time us out after 2 × 30 s (DEVIATIONS 7).
      this.#sendHeartbeat();
      this.#armHeartbeat();
    }
  }

  foreground(): void {
    this.#requireWritable("foreground");
    if (!this.#backgrounded) return;
    this.#backgrounded = false;
    this.#heartbeatSec = this.#o.heartbeatIntervalSec;
    this.#publishPresenceState();
    if (this.#isLive()) {
      this.#sendHeartbeat();
      this.#armHeartbeat();
      this.requestReconciliation();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    if (this.#phase !== "created") throw new Error(`start(): the client is ${this.#phase}`);
    this.#phase = "starting";
    // Live messages can arrive as soon as the subscription is up, before history is read: their
    // timetokens must not move where catch-up starts, or it would skip what came before them.
    this.#catchingUp = true;
    const transport = this.#o.transport;
    this.#removeListener = transport.addListener({
      message: (message) => this.#onTransportMessage(message, "live"),
      presence: (event) => this.#onPresenceEvent(event),
      status: (status) => this.#onStatus(status),
    });
    try {
      await transport.subscribe({ channels: [this.#sync, this.#notifications] });
      await transport.subscribe({ channels: [this.#devicesChannel], withPresence: true });
    } catch (error) {
      this.#removeListener();
      this.#removeListener = undefined;
      this.#endCatchUp();
      if (this.#phase === "starting") this.#phase = "created";
      throw error;
    }
    if (this.#phase !== "starting") return;
    this.#outbox.start();
    this.#publishPresenceState();
    const join = this.#checked<DeviceJoinMessage>("start", {
      msg_type: "device_join",
      device_id: this.deviceId,
      device_type: this.#o.deviceType,
      platform: this.#o.platform,
      app_version: this.#o.appVersion,
      capabilities: this.#o.capabilities,
      timestamp: this.#clock.tick(),
      initial_sync_required: this.#o.snapshot === undefined,
      heartbeat_interval: this.#heartbeatSec,
    });
    this.#outbox.enqueue(this.#devicesChannel, join);
    this.#bestEffort(() =>
      transport.heartbeat({
        channels: [this.#devicesChannel],
        intervalSeconds: this.#heartbeatSec,
        ...(this.#presenceState === undefined ? {} : { state: this.#presenceState }),
      }),
    );
    this.#armHeartbeat();
    const reconcile = await this.#catchUp();
    // Recorded even if the app is already closing: catch-up has moved our timetokens past the
    // gap, so only the flag in the snapshot still says that we owe ourselves a reconciliation.
    if (reconcile) this.#markNeedsReconciliation();
    if (this.#phase !== "starting") return;
    // A restored snapshot may owe a reconciliation its timetokens no longer show (bug B).
    if (this.#needsReconciliation) this.#requestFresh();
    await this.#inbound.whenIdle();
    if (this.#phase === "starting") this.#phase = "running";
  }

  /**
   * History catch-up (spec 9.1, docs/protocol.md §7.1). True when the device must reconcile:
   * history does not reach back to its last seen timetoken, it has none (a fresh install has
   * no state, whatever history still holds: protocol.md §7.1 `initial_sync_required`), or
   * history could not be read.
   */
  async #catchUp(): Promise<boolean> {
    const transport = this.#o.transport;
    let reconcile = false;
    try {
      const sync = await fetchHistorySince(
        transport,
        this.#sync,
        this.#lastTimetokens.get(this.#sync),
        this.#o.catchUpOverlapMs,
      );
      this.#count.historyPages += sync.pages;
      this.#count.historyMessages += sync.messages.length;
      for (const message of sync.messages) this.#onTransportMessage(message, "history");
      if (sync.reachedLast !== true) reconcile = true;
      if (sync.reachedLast === false) this.#count.historyGaps++;
    } catch (error) {
      this.#count.historyFailures++;
      this.#fail(error, "fetching sync history");
      reconcile = true;
    } finally {
      this.#endCatchUp();
    }
    // Who else is here: the recent device messages (joins carry capabilities and intervals),
    // then the transport's here-now. Best effort: live presence fills in anyway.
    try {
      const { messages } = await transport.history(this.#devicesChannel, { count: HISTORY_PAGE_SIZE });
      this.#count.historyPages++;
      this.#count.historyMessages += messages.length;
      for (const message of messages) this.#onTransportMessage(message, "history");
    } catch (error) {
      this.#count.historyFailures++;
      this.#fail(error, "fetching device history");
    }
    await this.#refreshPresence();
    return reconcile;
  }

  /**
   * Re-reads who is on the devices channel and what they are doing (here-now with state). At
   * start, and after a reconnect: presence events and heartbeats are not kept in history, so
   * what changed while we were away is only learned here. Best effort.
   */
  async #refreshPresence(): Promise<void> {
    try {
      const here = await this.#o.transport.hereNow({ channels: [this.#devicesChannel], includeState: true });
      const channel = here.channels[this.#devicesChannel];
      const now = this.#clock.nowMs();
      for (const occupant of channel?.occupants ?? []) {
        if (occupant.uuid === this.deviceId) continue;
        this.#presence.applyTransportEvent({
          channel: this.#devicesChannel,
          action: "join",
          uuid: occupant.uuid,
          occupancy: channel?.occupancy ?? 0,
          timestampMs: now,
          timetoken: "0",
          ...(occupant.state === undefined ? {} : { state: occupant.state }),
        });
      }
    } catch {
      this.#count.transportErrors++;
    }
  }

  /** Adopts the live timetokens held back while catching up. */
  #endCatchUp(): void {
    this.#catchingUp = false;
    for (const [channel, timetoken] of this.#deferredTimetokens) {
      advanceTimetoken(this.#lastTimetokens, channel, timetoken);
    }
    this.#deferredTimetokens.clear();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasLive = this.#isLive();
    this.#phase = "stopping";
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = undefined;
    this.#responder.cancelAll();
    for (const own of this.#ownRequests.values()) own.cancel?.();
    this.#ownRequests.clear();
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    this.#throttle.flushAll();
    if (wasLive) {
      const transport = this.#o.transport;
      const leave: DeviceLeaveMessage = {
        msg_type: "device_leave",
        device_id: this.deviceId,
        timestamp: this.#clock.tick(),
        reason: "user_exit",
      };
      this.#outbox.enqueue(this.#devicesChannel, leave);
      const deadline = this.#clock.nowMs() + this.#o.stopTimeoutMs;
      await this.#within(() => this.#outbox.whenDrained(), this.#o.stopTimeoutMs);
      const left = Math.max(0, deadline - this.#clock.nowMs());
      // Spec 8.2: leave presence (peers mark us offline at once), then unsubscribe.
      await this.#within(() => transport.leave({ channels: [this.#devicesChannel] }), left);
      await this.#within(
        () =>
          transport.unsubscribe({
            channels: [this.#sync, this.#devicesChannel, this.#notifications, ...this.#feeds.ownedChannels()],
          }),
        left,
      );
    }
    this.#removeListener?.();
    this.#removeListener = undefined;
    this.#outbox.halt(new SyncClientStoppedError("the client stopped before this was published"));
    this.#throttle.cancelAll();
    this.#presence.stop();
    this.#feeds.clear();
    this.#phase = "stopped";
  }

  /**
   * Resolves when `call()` settles or after `ms` of scheduler time, whichever is first; a failed
   * call counts as a transport error and never rejects (stop() must finish).
   */
  #within(call: () => Promise<unknown>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.#o.scheduler.schedule(ms, resolve);
      const done = (): void => {
        cancel();
        resolve();
      };
      let promise: Promise<unknown>;
      try {
        promise = call();
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(done, () => {
        this.#count.transportErrors++;
        done();
      });
    });
  }

  #bestEffort(call: () => Promise<unknown>): void {
    try {
      call().catch(() => {
        this.#count.transportErrors++;
      });
    } catch {
      this.#count.transportErrors++;
    }
  }

  #fail(error: unknown, context?: string): void {
    const base = error instanceof Error ? error : new Error(String(error));
    const reported = context === undefined ? base : new Error(`${context}: ${base.message}`, { cause: base });
    this.#events.emit("error", reported);
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  devices(): DeviceView[] {
    return this.#presence.views();
  }

  on<K extends keyof SyncClientEvents>(
    event: K,
    listener: (...args: SyncClientEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  async whenIdle(): Promise<void> {
    // Handling a message may queue a publish and a publish may be encrypting: wait until both
    // sides are still at the same moment.
    while (this.#inbound.length > 0 || this.#outbox.encoding > 0) {
      await this.#inbound.whenIdle();
      await this.#outbox.whenEncoded();
    }
  }

  state(): UserSyncState {
    return syncStateClone(this.#state);
  }

  snapshot(): SyncClientSnapshot {
    const pending: SyncMessage[] = [];
    for (const entry of this.#outbox.entries())
      if (isPendingDelta(entry, this.#sync)) pending.push(entry.message);
    pending.push(...this.#throttle.pending());
    const lastTimetokens: Record<string, Timetoken> = {};
    for (const [channel, timetoken] of this.#lastTimetokens) {
      Object.defineProperty(lastTimetokens, channel, { value: timetoken, enumerable: true, writable: true });
    }
    // The command dedup window, oldest first: a restart within a command's lifetime finds the
    // command in the devices channel's history again and must not run it twice (DEVIATIONS 8).
    const commandIds = [...this.#commandWindow.older, ...this.#commandWindow.newer];
    return {
      version: SNAPSHOT_VERSION,
      deviceId: this.deviceId,
      state: syncStateToJSON(this.#state),
      hlc: this.#clock.peek(),
      lastTimetokens,
      pending,
      ...(this.#needsReconciliation ? { needsReconciliation: true } : {}),
      ...(commandIds.length > 0 ? { commandIds } : {}),
    };
  }

  stats(): SyncClientStats {
    return this.#count.snapshot({
      phase: this.#phase,
      queued: this.#outbox.size,
      heartbeatIntervalSec: this.#heartbeatSec,
      background: this.#backgrounded,
    });
  }
}

function isPendingDelta(
  entry: OutboxEntry,
  syncChannel: string,
): entry is OutboxEntry & { message: SyncMessage } {
  return entry.channel === syncChannel && isSyncDelta(entry.message);
}

function advanceTimetoken(map: Map<string, Timetoken>, channel: string, timetoken: Timetoken): void {
  const current = map.get(channel);
  if (current === undefined || timetokenCompare(timetoken, current) > 0) map.set(channel, timetoken);
}
