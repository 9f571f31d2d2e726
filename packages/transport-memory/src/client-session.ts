/**
 * Everything the simulated network knows about one open transport (one `network.client(id)`):
 * the client half (listeners, requests awaiting a response, status bookkeeping), the wire between
 * it and the server (ordered links, events in flight), and the server half (subscriptions,
 * presence, states). One object, because in a simulation both ends live in one process; each
 * field says which end it belongs to.
 */
import {
  DEFAULT_HEARTBEAT_INTERVAL_SEC,
  type HereNowResult,
  type HistoryResult,
  type Timetoken,
  type TransportError,
  type TransportListener,
  type TransportOperation,
} from "@mg-sync/crdt-core";
import type { StoredMessage } from "./channel-log.js";
import type { ScheduledEvent } from "./event-queue.js";
import type { OrderedLink } from "./ordered-link.js";

/** What a transport call asks the server to do (validated on the client before it is sent). */
export type MemoryRequest =
  | {
      readonly op: "publish";
      readonly channel: string;
      readonly payloadText: string;
      readonly metaText: string | undefined;
      readonly store: boolean;
    }
  | {
      readonly op: "subscribe";
      readonly channels: readonly string[];
      readonly groups: readonly string[];
      readonly withPresence: boolean;
    }
  | { readonly op: "unsubscribe"; readonly channels: readonly string[]; readonly groups: readonly string[] }
  | {
      readonly op: "history";
      readonly channel: string;
      readonly start: Timetoken | undefined;
      readonly end: Timetoken | undefined;
      readonly count: number;
    }
  | {
      readonly op: "heartbeat";
      readonly channels: readonly string[];
      readonly groups: readonly string[];
      readonly intervalSeconds: number;
      readonly stateText: string | undefined;
    }
  | { readonly op: "set-state"; readonly channels: readonly string[]; readonly stateText: string }
  | { readonly op: "here-now"; readonly channels: readonly string[]; readonly includeState: boolean }
  | { readonly op: "leave"; readonly channels: readonly string[]; readonly groups: readonly string[] }
  | { readonly op: "group-add"; readonly group: string; readonly channels: readonly string[] }
  | { readonly op: "group-remove"; readonly group: string; readonly channels: readonly string[] }
  | { readonly op: "group-list"; readonly group: string }
  | { readonly op: "group-delete"; readonly group: string };

/** What each request resolves with. */
export interface MemoryRequestResults {
  publish: { readonly timetoken: Timetoken };
  subscribe: undefined;
  unsubscribe: undefined;
  history: HistoryResult;
  heartbeat: undefined;
  "set-state": undefined;
  "here-now": HereNowResult;
  leave: undefined;
  "group-add": undefined;
  "group-remove": undefined;
  "group-list": readonly string[];
  "group-delete": undefined;
}

export type RequestOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: TransportError };

export interface PendingRequest {
  /** Network-wide, in call order: resends go out in this order. */
  readonly id: number;
  readonly request: MemoryRequest;
  readonly operation: TransportOperation;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: TransportError) => void;
}

/** A presence event as the server made it (state as JSON text, parsed per receiver). */
export interface PresenceRecord {
  readonly channel: string;
  readonly action: "join" | "leave" | "timeout" | "state-change";
  readonly uuid: string;
  readonly occupancy: number;
  readonly timestampMs: number;
  readonly timetoken: Timetoken;
  readonly stateText: string | undefined;
}

/** What travels down to a subscriber. */
export type Delivery =
  | {
      readonly kind: "message";
      readonly message: StoredMessage;
      /** Sent from history after a reconnect. */
      readonly catchUp: boolean;
    }
  | { readonly kind: "presence"; readonly event: PresenceRecord };

export class ClientSession {
  readonly clientId: string;
  /** Which incarnation of `clientId` this is (1 for the first `network.client(id)`). */
  readonly incarnation: number;

  // --- client half -----------------------------------------------------------------------
  closed = false;
  readonly listeners = new Set<TransportListener>();
  /** Requests without a response yet, in call order; all are resent after a reconnect. */
  readonly pending = new Map<number, PendingRequest>();
  /** `connected` was emitted (the first subscribe went through); status events follow from then on. */
  connectedAnnounced = false;
  /** A `disconnected` was emitted and its `reconnected` is still owed. */
  awaitingReconnect = false;
  lastTimetokenAtCut: Timetoken | undefined;
  gapSinceCut = false;
  /** The newest message timetoken handed to the listeners. */
  newestSeen: Timetoken | undefined;
  /** Catch-up deliveries not yet handed over; `reconnected` waits for them. */
  catchUpOutstanding = 0;

  // --- wire --------------------------------------------------------------------------------
  /** Whether the client can reach the server now (no partition or disconnect cuts it off). */
  reachable: boolean;
  /** Uplinks: one per channel for publishes (FIFO per publisher per channel), one for the rest. */
  readonly uplinks = new Map<string, OrderedLink<PendingRequest>>();
  /** Downlinks: one per (publisher, channel) and one per presence channel. */
  readonly downlinks = new Map<string, OrderedLink<Delivery>>();
  /** Every network event travelling to or from this client: cancelled when the link goes down. */
  readonly inFlight = new Set<ScheduledEvent>();

  // --- server half ---------------------------------------------------------------------------
  /** Subscribed channels and groups, each with whether presence events are wanted. */
  readonly channels = new Map<string, boolean>();
  readonly groups = new Map<string, boolean>();
  /** Where the client asked to be present (subscribe withPresence, heartbeat), minus `leave`. */
  readonly presenceChannels = new Set<string>();
  readonly presenceGroups = new Set<string>();
  /** Channels whose occupant list holds this session now. */
  readonly presentOn = new Set<string>();
  /** Presence state per channel, as JSON text. */
  readonly states = new Map<string, string>();
  /** The interval the client announced (DEVIATIONS 7): it times out after two of them. */
  heartbeatIntervalSec: number = DEFAULT_HEARTBEAT_INTERVAL_SEC;
  /** Outcomes of requests served whose response has not arrived: a resent request is not redone. */
  readonly processed = new Map<number, RequestOutcome>();
  /** Per channel, the timetoken after which a catch-up must resend (set when the link goes down). */
  readonly resumeAfter = new Map<string, Timetoken>();

  constructor(clientId: string, incarnation: number, reachable: boolean) {
    this.clientId = clientId;
    this.incarnation = incarnation;
    this.reachable = reachable;
  }
}
