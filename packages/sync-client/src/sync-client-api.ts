/**
 * The contract of a device runtime: what an app sees of `createSyncClient` (sync-client.ts is
 * the implementation). Kept apart so the API reads in one screenful of types.
 */
import type {
  AnnouncementMessage,
  CommandRejection,
  ContentSnippet,
  DeviceView,
  PlaybackState,
  PresenceEventMessage,
  RemoteCommand,
  RemoteCommandMessage,
  StreamStatusMessage,
  SyncChange,
  TransportStatus,
  TrendingUpdateMessage,
  UserNotificationMessage,
  UserSyncState,
  WatchlistItem,
  WatchProgress,
} from "@mg-sync/crdt-core";
import type { FeedListener, RegionUpdateMessage } from "./channels/feeds.js";
import type { JoinPartyOptions, WatchParty } from "./channels/watch-party.js";
import type { InboundRejection } from "./inbound.js";
import type { SyncClientSnapshot } from "./snapshot.js";

export type SyncClientPhase = "created" | "starting" | "running" | "stopping" | "stopped";

/** Who caused a change: this device (optimistic) or another one. */
export type ChangeOrigin = "local" | "remote";

export type SyncClientEvents = {
  /** What changed in the sync state; never emitted for a duplicate. */
  change: [changes: readonly SyncChange[], origin: ChangeOrigin];
  /** Presence transitions (join, leave, timeout, state-change) as the tracker saw them. */
  devices: [events: readonly PresenceEventMessage[]];
  /** A validated notification on `user.{id}.notifications`, once per `notification_id`. */
  notification: [message: UserNotificationMessage];
  /** An incoming message refused, and why (also counted in `stats().rejected`). */
  rejected: [reason: InboundRejection, detail: string, channel: string];
  /** A command for this device refused by `validateCommand` (also counted). */
  commandRejected: [reason: CommandRejection, message: RemoteCommandMessage];
  status: [status: TransportStatus];
  /** Background failures: a dropped outbox entry, a failed history fetch, a throwing listener. */
  error: [error: Error];
};

/** Runs a validated, unexpired, first-seen command addressed to this device. */
export type CommandHandler = (command: RemoteCommand, message: RemoteCommandMessage) => void;

export interface SendCommandOptions {
  /** Lifetime in ms (default the client's `commandTtlMs`, 5 000; at most 60 000). */
  readonly ttlMs?: number;
}

/** `sendCommand` refused before sending: what the sender's presence view says about the target. */
export class CommandRejectedError extends Error {
  override readonly name = "CommandRejectedError";
  readonly reason: CommandRejection;
  readonly commandId: string;
  readonly targetDeviceId: string;

  constructor(reason: CommandRejection, commandId: string, targetDeviceId: string) {
    super(`command ${commandId} to ${targetDeviceId} rejected: ${reason}`);
    this.reason = reason;
    this.commandId = commandId;
    this.targetDeviceId = targetDeviceId;
  }
}

/** A local change after `stop()`: it could never be published. */
export class SyncClientStoppedError extends Error {
  override readonly name = "SyncClientStoppedError";
}

export interface WatchlistApi {
  /** Adds (or re-adds, replacing the snippet) a title; visible at once. */
  add(contentId: string, snippet?: ContentSnippet): void;
  /** Removes the title's adds seen here (a concurrent add elsewhere wins); false if absent. */
  remove(contentId: string): boolean;
  has(contentId: string): boolean;
  /** Content ids, sorted. */
  values(): string[];
  item(contentId: string): WatchlistItem | undefined;
}

export interface ProgressApi {
  /**
   * Records the playback position (whole seconds; fractions are dropped, a position past a known
   * duration is clamped to it). Visible here at once; published throttled (spec 5.2).
   */
  update(contentId: string, positionSec: number, durationSec: number, state: PlaybackState): void;
  get(contentId: string): WatchProgress | undefined;
  /** `[contentId, progress]` of every title, sorted by id. */
  entries(): [string, WatchProgress][];
}

export interface PreferencesApi {
  /** Any JSON value (at most 8 deep); `null` resets. */
  set(key: string, value: unknown): void;
  get(key: string): unknown;
  reset(key: string): void;
}

/** Stops a feed subscription (unsubscribing the transport when it was the channel's last). */
export type Unsubscribe = () => Promise<void>;

export interface FeedOptions {
  /** Newest messages to replay from the channel's history first (default 0, at most 100). */
  readonly history?: number;
}

/**
 * Typed subscriptions (spec 2.1, 4): each listener sees only messages that validate for its
 * channel, once (docs/protocol.md §1.6). Resolve once the transport subscription is live.
 */
export interface FeedsApi {
  notifications(listener: FeedListener<UserNotificationMessage>, options?: FeedOptions): Promise<Unsubscribe>;
  trending(listener: FeedListener<TrendingUpdateMessage>, options?: FeedOptions): Promise<Unsubscribe>;
  announcements(listener: FeedListener<AnnouncementMessage>, options?: FeedOptions): Promise<Unsubscribe>;
  /** `region.{code}.updates` of `options.region`, default the client's `region` option. */
  region(
    listener: FeedListener<RegionUpdateMessage>,
    options?: FeedOptions & { readonly region?: string },
  ): Promise<Unsubscribe>;
  platformStatus(
    platformId: string,
    listener: FeedListener<StreamStatusMessage>,
    options?: FeedOptions,
  ): Promise<Unsubscribe>;
}

export interface SyncClientStats {
  readonly phase: SyncClientPhase;
  /** Payloads that entered the inbound path (live and history). */
  readonly received: number;
  /** Sync deltas and reconciliation chunks that changed the state. */
  readonly merged: number;
  /** Valid sync deltas and chunks that changed nothing (duplicates, or already known). */
  readonly duplicates: number;
  readonly rejected: Readonly<Record<InboundRejection, number>>;
  readonly outbox: {
    readonly queued: number;
    readonly published: number;
    readonly retries: number;
    readonly dropped: number;
  };
  readonly progress: { readonly updates: number; readonly sent: number };
  readonly commands: {
    readonly sent: number;
    readonly executed: number;
    /** Commands on the channel for other devices. */
    readonly ignored: number;
    readonly rejected: Readonly<Record<CommandRejection, number>>;
  };
  readonly reconciliation: {
    readonly requested: number;
    /** Other devices' requests we answered with our state. */
    readonly answered: number;
    /** Requests we did not answer: the answers other devices sent already held all we have. */
    readonly suppressed: number;
    /** Our own requests whose answers lacked something we hold, so we published our state. */
    readonly pushedBack: number;
    readonly chunksSent: number;
    readonly chunksReceived: number;
  };
  readonly history: {
    readonly messages: number;
    readonly pages: number;
    /** Times history did not reach back (on start, or a reconnect with `gap`). */
    readonly gaps: number;
    readonly failures: number;
  };
  readonly heartbeats: { readonly sent: number; readonly intervalSec: number; readonly background: boolean };
  /** Failed best-effort transport calls (presence heartbeat, setState, leave, hereNow). */
  readonly transportErrors: number;
}

export interface SyncClient {
  readonly userId: string;
  readonly deviceId: string;
  /** This instance's dot-replica id (`${deviceId}~xxxxxxxx`), new on every construction. */
  readonly incarnation: string;
  readonly watchlist: WatchlistApi;
  readonly progress: ProgressApi;
  readonly preferences: PreferencesApi;
  /** Notifications, trending, announcements, regional updates, platform status (after `start()`). */
  readonly feeds: FeedsApi;
  readonly phase: SyncClientPhase;
  /** Joins a watch party (`party.{partyId}`, spec 4.3): chat, reactions, playback sync. After `start()`. */
  joinParty(partyId: string, options: JoinPartyOptions): Promise<WatchParty>;
  /** The presence view: every device heard of, sorted by id. */
  devices(): DeviceView[];
  /**
   * Sends a remote command (spec 3.4, 6.3). Rejects with `CommandRejectedError` if the presence
   * view already says it cannot run (offline, not controllable, no content for a Seek …);
   * resolves once the transport acknowledged it.
   */
  sendCommand(
    targetDeviceId: string,
    command: RemoteCommand,
    options?: SendCommandOptions,
  ): Promise<{ readonly commandId: string }>;
  /** Returns the function that removes the handler. */
  onCommand(handler: CommandHandler): () => void;
  on<K extends keyof SyncClientEvents>(
    event: K,
    listener: (...args: SyncClientEvents[K]) => void,
  ): () => void;
  stats(): SyncClientStats;
  /** JSON-safe; restore with `createSyncClient({ …, snapshot })`. */
  snapshot(): SyncClientSnapshot;
  /** A copy of the sync state (for tests and diagnostics). */
  state(): UserSyncState;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Spec 8.2: presence Idle, heartbeat every `backgroundHeartbeatIntervalSec`. */
  background(): void;
  /** Spec 8.2: heartbeat back to `heartbeatIntervalSec`, and a reconciliation request. */
  foreground(): void;
  /** Publishes a `state_reconciliation_request`; returns its `request_id`. */
  requestReconciliation(): string;
  /**
   * Resolves once every message received so far has been handled and every queued publish has
   * been handed to the transport or is waiting on it (decryption and encryption are async).
   */
  whenIdle(): Promise<void>;
}
