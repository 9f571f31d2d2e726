/**
 * The device runtime (issue 5 part 3; ARCHITECTURE.md "Data flow of one change"): local state,
 * an HLC, one Transport, and everything between them.
 *
 * - **Local changes** are built as messages with crdt-core's builders (stamped by our HLC),
 *   merged at once through `applyMessageInto` (optimistic, spec 5.1 step 1), then published
 *   through the outbox (FIFO per channel, retried with backoff, never dropped while the client
 *   lives). Progress goes through the per-title throttle first (spec 5.2). See state-apis.ts.
 * - **Incoming**, one path for live messages, history pages and reconciliation chunks:
 *   decrypt / decode / validate / `channelAccepts` (inbound.ts) → HLC receive (a drifting
 *   message is dropped and counted, DEVIATIONS 2) → dispatch: sync deltas and reconciliation
 *   chunks to `applyMessageInto`, device messages and transport presence to the presence
 *   tracker, commands for this device to `validateCommand` and then the app's handlers
 *   (remote-commands.ts), reconciliation requests to the responder (reconciliation.ts).
 *   Nothing rejected reaches state or moves the clock.
 * - **Lifecycle** (spec 6.1, 8.2, 10.3): `start()` subscribes, announces itself, catches up from
 *   history and reconciles if history no longer reaches back (reconciliation-requester.ts);
 *   heartbeats every 30 s (300 s in the background; heartbeat.ts); `stop()` flushes, says
 *   goodbye and unsubscribes.
 */
import {
  applyMessageInto,
  type ChannelMatcher,
  ClockDriftError,
  compileChannelPatterns,
  type DeviceJoinMessage,
  type DeviceLeaveMessage,
  type DeviceView,
  DoubleSpentDotError,
  encodeMessage,
  encryptPayload,
  type Hlc,
  type Message,
  mergeStates,
  type PartyChatMessage,
  type RemoteCommand,
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
  timetokenToMs,
  type UserNotificationMessage,
  type UserSyncState,
  userDevicesChannel,
  userNotificationsChannel,
  userSyncChannel,
} from "@mg-sync/crdt-core";
import { fetchHistorySince, HISTORY_PAGE_SIZE } from "./catch-up.js";
import { type FeedMeta, Feeds } from "./channels/feeds.js";
import { type JoinPartyOptions, joinWatchParty, type WatchParty } from "./channels/watch-party.js";
import { checkOutgoing } from "./check-outgoing.js";
import { ClientClock } from "./client-clock.js";
import { ClientCounters } from "./client-counters.js";
import { DevicePresence } from "./device-presence.js";
import { Emitter } from "./emitter.js";
import { createFeedsApi } from "./feeds-api.js";
import { HeartbeatLoop } from "./heartbeat.js";
import {
  createPayloadDecoder,
  type Decoded,
  InboundQueue,
  type InboundRejection,
  type PayloadDecoder,
} from "./inbound.js";
import { newIncarnationId } from "./incarnation.js";
import { LastTimetokens } from "./last-timetokens.js";
import { type ResolvedOptions, resolveOptions, type SyncClientOptions } from "./options.js";
import { Outbox, type OutboxEntry } from "./outbox.js";
import { ProgressThrottle } from "./progress-throttle.js";
import { chunkBudgetBytes, ReconciliationResponder } from "./reconciliation.js";
import { ReconciliationRequester } from "./reconciliation-requester.js";
import { RemoteCommands } from "./remote-commands.js";
import { restoreSnapshot, SNAPSHOT_VERSION, type SyncClientSnapshot } from "./snapshot.js";
import { createStateApis } from "./state-apis.js";
import {
  type CommandHandler,
  type FeedsApi,
  type PreferencesApi,
  type ProgressApi,
  type SendCommandOptions,
  type SyncClient,
  type SyncClientEvents,
  type SyncClientPhase,
  type SyncClientStats,
  SyncClientStoppedError,
  type WatchlistApi,
} from "./sync-client-api.js";
import { bestEffort, within } from "./transport-calls.js";

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

/** An answer or push-back of at most this many chunks is kept in history (see `#publishState`). */
const MAX_STORED_CHUNKS = 4;

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
  readonly #requester: ReconciliationRequester;
  readonly #heartbeat: HeartbeatLoop;
  readonly #commands: RemoteCommands;
  readonly #events: Emitter<SyncClientEvents>;
  readonly #count = new ClientCounters();
  /** A transport call made best effort (transport-calls.ts) failed: counted, never thrown. */
  readonly #transportFailed = (): void => {
    this.#count.transportErrors++;
  };
  readonly #feeds: Feeds;
  readonly #lastTimetokens: LastTimetokens;
  #phase: SyncClientPhase = "created";
  #stopping: Promise<void> | undefined;
  #removeListener: (() => void) | undefined;
  /** Our HLC when we last merged state from elsewhere (`last_known_state_timestamp`); 0: never. */
  #lastKnownStateTs: Hlc = 0;

  constructor(options: ResolvedOptions) {
    const o = options;
    this.#o = o;
    this.userId = o.userId;
    this.deviceId = o.deviceId;
    this.incarnation = newIncarnationId(o.deviceId, o.random);
    this.#sync = userSyncChannel(o.userId);
    this.#devicesChannel = userDevicesChannel(o.userId);
    this.#notifications = userNotificationsChannel(o.userId);
    this.#events = new Emitter<SyncClientEvents>((error, event) => {
      if (event !== "error") this.#fail(error);
    });

    const restored = o.snapshot === undefined ? undefined : restoreSnapshot(o.snapshot, o.deviceId);
    this.#state = restored?.state ?? syncStateEmpty();
    this.#clock = new ClientClock(o.clock, o.maxDriftMs, restored?.snapshot.hlc ?? 0);
    if (restored !== undefined) this.#lastKnownStateTs = restored.snapshot.hlc;
    this.#lastTimetokens = new LastTimetokens(restored?.snapshot.lastTimetokens ?? {});

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
        this.#requester.published(entry.message);
      },
      retrying: () => {
        this.#count.retries++;
      },
      dropped: (entry, error) => {
        this.#count.dropped++;
        this.#requester.dropped(entry.message);
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
        this.#requester.onDevicesJoined(events);
      },
    );
    this.#responder = new ReconciliationResponder(
      o.scheduler,
      o.random,
      o.reconciliationDelayMs,
      (request, id, others) => this.#answer(request, id, others),
    );
    this.#requester = new ReconciliationRequester(
      {
        deviceId: o.deviceId,
        incarnation: this.incarnation,
        scheduler: o.scheduler,
        windowMs: o.reconciliationWindowMs,
        count: this.#count,
        presence: this.#presence,
        tick: () => this.#clock.tick(),
        lastKnownStateTs: () => this.#lastKnownStateTs,
        publish: (request) => this.#outbox.enqueue(this.#sync, request),
        phase: () => this.#phase,
        isLive: () => this.#isLive(),
        requireWritable: (what) => this.#requireWritable(what),
        hasState: () => this.#hasState(),
        state: () => this.#state,
        publishState: (request, requestId, part) => this.#publishState(request, requestId, part),
      },
      restored?.snapshot.needsReconciliation === true,
    );
    this.#heartbeat = new HeartbeatLoop({
      deviceId: o.deviceId,
      options: o,
      transport: o.transport,
      scheduler: o.scheduler,
      devicesChannel: this.#devicesChannel,
      outbox: this.#outbox,
      presence: this.#presence,
      count: this.#count,
      tick: () => this.#clock.tick(),
      isLive: () => this.#isLive(),
      bestEffort: (call) => bestEffort(call, this.#transportFailed),
      fail: (error) => this.#fail(error),
    });
    this.#commands = new RemoteCommands(
      {
        deviceId: o.deviceId,
        incarnation: this.incarnation,
        options: o,
        presence: this.#presence,
        count: this.#count,
        tick: () => this.#clock.tick(),
        isLive: () => this.#isLive(),
        playback: () => this.#heartbeat.playback,
        publish: (message) => this.#outbox.enqueue(this.#devicesChannel, message, { awaited: true }),
        rejected: (reason, message) => this.#events.emit("commandRejected", reason, message),
        fail: (error, context) => this.#fail(error, context),
      },
      restored?.snapshot.commandIds ?? [],
    );
    // Deltas made before a restart and never acknowledged: published first, in order.
    for (const message of restored?.snapshot.pending ?? []) this.#outbox.enqueue(this.#sync, message);

    const apis = createStateApis({
      deviceId: o.deviceId,
      incarnation: this.incarnation,
      deviceType: o.deviceType,
      state: this.#state,
      throttle: this.#throttle,
      heartbeat: this.#heartbeat,
      count: this.#count,
      tick: () => this.#clock.tick(),
      requireWritable: (what) => this.#requireWritable(what),
      applyLocal: (message) => this.#applyLocal(message),
      publish: (message) => this.#outbox.enqueue(this.#sync, message),
    });
    this.watchlist = apis.watchlist;
    this.progress = apis.progress;
    this.preferences = apis.preferences;
    this.#feeds = new Feeds(o.transport, (error) => this.#fail(error, "a feed listener threw"));
    // The notifications channel is one of the user's own (spec 2.2): subscribed by start().
    void this.#feeds.add<UserNotificationMessage>(
      this.#notifications,
      (message) => this.#events.emit("notification", message),
      { alwaysSubscribed: true },
    );
    this.feeds = createFeedsApi({
      feeds: this.#feeds,
      notificationsChannel: this.#notifications,
      region: o.region,
      isLive: () => this.#isLive(),
      replayHistory: (channel, count) => this.#replayHistory(channel, count),
    });
  }

  get phase(): SyncClientPhase {
    return this.#phase;
  }

  // -------------------------------------------------------------------------------------------
  // Local changes (state-apis.ts builds them)

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
          this.#onResponse(message, this.#heardAt(item));
        } else {
          if (message.device_id !== this.deviceId) this.#lastKnownStateTs = this.#clock.peek();
          this.#lastTimetokens.track(item.channel, item.timetoken, item.source);
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
        this.#commands.receive(message, receivedAt);
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

  #onResponse(response: StateReconciliationResponseMessage, heardAt: number): void {
    this.#count.chunksReceived++;
    const requestId = response.request_id;
    if (requestId !== undefined && response.responder_device_id !== this.deviceId) {
      this.#responder.onOtherResponse(requestId, response);
      this.#requester.onOtherResponse(requestId, response);
    }
    // docs/protocol.md §7.3: each device entry is a heartbeat heard when the answer was sent (a
    // small answer is stored, D27: read from history, its heartbeats are as old as it is).
    for (const heartbeat of response.devices) {
      if (heartbeat.device_id !== this.deviceId) this.#presence.apply(heartbeat, heardAt);
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
    // Between a drop and `reconnected` the transport replays what we missed, and live messages
    // may overtake it: where our catch-up resumes must not move past the replay (bug E). Once
    // stopping we have unsubscribed, so a replay ending now may have missed us: keep holding.
    if (status.type === "disconnected") this.#lastTimetokens.beginCatchUp("transport");
    else if ((status.type === "reconnected" || status.type === "connected") && this.#isLive())
      this.#lastTimetokens.endCatchUp("transport");
    this.#events.emit("status", status);
    if (status.type !== "reconnected" || !this.#isLive()) return;
    // The transport resubscribed and replayed what it missed (transport.ts); we push what we
    // held back, refresh our presence, and reconcile if history did not reach back (10.3).
    this.#outbox.retryNow();
    this.#heartbeat.send();
    void this.#refreshPresence();
    if (status.gap) this.#count.historyGaps++;
    // Whatever we asked before the cut may have been answered while we were away (answers are
    // not stored), or its answers were lost in the cut: ask again under a new id (bugs A, C).
    if (status.gap || this.#requester.needsReconciliation) this.#requester.requestFresh();
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
  // Reconciliation: asking (reconciliation-requester.ts) and answering

  requestReconciliation(): string {
    this.#requireWritable("requestReconciliation");
    return this.#requester.request();
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

  /**
   * Our whole state (or `part` of it: a push-back of what the answers lacked) as
   * `state_reconciliation_response` chunks answering `requestId`. Stored in history when it fits
   * in `MAX_STORED_CHUNKS`, so a device away during the exchange still finds it when it catches
   * up (its return shows no gap otherwise: bugs G and H, D27); a larger one is not stored, or it
   * would push the deltas catch-up needs out of the channel's 100 (spec 9.1).
   */
  #publishState(request: StateReconciliationRequestMessage, requestId: string, part?: UserSyncState): void {
    try {
      const budget = chunkBudgetBytes(this.#o.transport.maxMessageBytes, this.#encrypted(this.#sync));
      const chunks = stateToChunks(part ?? this.#state, budget, {
        serverTimestamp: this.#clock.tick(),
        requestId,
        responderDeviceId: this.deviceId,
        include: request.requested_states,
        // Presence is no part of what the answers lacked.
        ...(part === undefined ? { devices: this.#presence.onlineHeartbeats() } : {}),
      });
      const store = chunks.length <= MAX_STORED_CHUNKS;
      for (const chunk of chunks) {
        this.#count.chunksSent++;
        this.#outbox.enqueue(this.#sync, chunk, { store });
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
    const { commandId, published } = this.#commands.send(targetDeviceId, command, options);
    await published;
    return { commandId };
  }

  onCommand(handler: CommandHandler): () => void {
    return this.#commands.onCommand(handler);
  }

  // -------------------------------------------------------------------------------------------
  // Feeds and watch parties

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

  background(): void {
    this.#requireWritable("background");
    this.#heartbeat.background();
  }

  foreground(): void {
    this.#requireWritable("foreground");
    if (this.#heartbeat.foreground()) this.requestReconciliation();
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    if (this.#phase !== "created") throw new Error(`start(): the client is ${this.#phase}`);
    this.#phase = "starting";
    // Live messages can arrive as soon as the subscription is up, before history is read: their
    // timetokens must not move where catch-up starts, or it would skip what came before them.
    this.#lastTimetokens.beginCatchUp("history");
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
      this.#lastTimetokens.endCatchUp("history");
      if (this.#phase === "starting") this.#phase = "created";
      throw error;
    }
    if (this.#phase !== "starting") return;
    this.#outbox.start();
    this.#heartbeat.publishPresenceState();
    const join = checkOutgoing<DeviceJoinMessage>("start", {
      msg_type: "device_join",
      device_id: this.deviceId,
      device_type: this.#o.deviceType,
      platform: this.#o.platform,
      app_version: this.#o.appVersion,
      capabilities: this.#o.capabilities,
      timestamp: this.#clock.tick(),
      initial_sync_required: this.#o.snapshot === undefined,
      heartbeat_interval: this.#heartbeat.intervalSec,
    });
    this.#outbox.enqueue(this.#devicesChannel, join);
    this.#heartbeat.start();
    await this.#catchUp();
    if (this.#phase !== "starting") return;
    // A restored snapshot may owe a reconciliation its timetokens no longer show (bug B).
    if (this.#requester.needsReconciliation) this.#requester.requestFresh();
    await this.#inbound.whenIdle();
    if (this.#phase === "starting") this.#phase = "running";
  }

  /**
   * History catch-up (spec 9.1, docs/protocol.md §7.1). Marks the device as owing itself a
   * reconciliation when history does not reach back to its last seen timetoken, it has none (a
   * fresh install has no state, whatever history still holds: protocol.md §7.1
   * `initial_sync_required`), or history could not be read.
   */
  async #catchUp(): Promise<void> {
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
      // Recorded before our timetokens move past the gap (and even if the app is already
      // closing): from then on only the flag, persisted in the snapshot, says that we owe
      // ourselves a reconciliation. Later, a crash during the device-history read below would
      // have left a snapshot past the gap without it (bug F).
      if (reconcile) this.#requester.markNeeded();
      this.#lastTimetokens.endCatchUp("history");
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

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasLive = this.#isLive();
    this.#phase = "stopping";
    this.#heartbeat.stop();
    this.#responder.cancelAll();
    this.#requester.cancelAll();
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
    return within(this.#o.scheduler, call, ms, this.#transportFailed);
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
    // The command dedup window, oldest first: a restart within a command's lifetime finds the
    // command in the devices channel's history again and must not run it twice (DEVIATIONS 8).
    const commandIds = this.#commands.seen();
    return {
      version: SNAPSHOT_VERSION,
      deviceId: this.deviceId,
      state: syncStateToJSON(this.#state),
      hlc: this.#clock.peek(),
      lastTimetokens: this.#lastTimetokens.toRecord(),
      pending,
      ...(this.#requester.needsReconciliation ? { needsReconciliation: true } : {}),
      ...(commandIds.length > 0 ? { commandIds } : {}),
    };
  }

  stats(): SyncClientStats {
    return this.#count.snapshot({
      phase: this.#phase,
      queued: this.#outbox.size,
      heartbeatIntervalSec: this.#heartbeat.intervalSec,
      background: this.#heartbeat.backgrounded,
    });
  }
}

function isPendingDelta(
  entry: OutboxEntry,
  syncChannel: string,
): entry is OutboxEntry & { message: SyncMessage } {
  return entry.channel === syncChannel && isSyncDelta(entry.message);
}
