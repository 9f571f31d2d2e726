/**
 * Asking for state: the requester side of reconciliation (spec 6.4, docs/protocol.md §7;
 * reconciliation.ts is the responder's side).
 *
 * Reconciliation is owed state, not a one-shot request (docs/decisions.md D22): once this device
 * may lack changes history can no longer give it, it keeps asking, under a fresh request id each
 * time, until one responder's answer to a request issued since has arrived whole. Each request
 * the outbox publishes opens an answer window; when it ends we push our own state back if the
 * answers lacked something we hold, and ask again (with backoff) if we are still owed state and
 * somebody is there to answer.
 */
import {
  applyMessageInto,
  type CancelTimer,
  type Hlc,
  type Message,
  type Scheduler,
  STATE_TYPES,
  type StateReconciliationRequestMessage,
  type StateReconciliationResponseMessage,
  syncStateEmpty,
  syncStateIsEmpty,
  syncStateMissingFrom,
  type UserSyncState,
} from "@mg-sync/crdt-core";
import { checkOutgoing } from "./check-outgoing.js";
import type { ClientCounters } from "./client-counters.js";
import type { DevicePresence } from "./device-presence.js";
import type { SyncClientPhase } from "./sync-client-api.js";

/** The longest wait between reconciliation requests that got no complete answer. */
const MAX_RECONCILIATION_RETRY_MS = 300_000;

/** What the requester needs from its client. */
export interface ReconciliationRequesterHost {
  readonly deviceId: string;
  /** Request ids are `{incarnation}:{hlc}`. */
  readonly incarnation: string;
  readonly scheduler: Scheduler;
  /** How long the answers to a published request are collected (`reconciliationWindowMs`). */
  readonly windowMs: number;
  readonly count: Pick<ClientCounters, "requested" | "pushedBack">;
  /** Who is online: a retry only helps if somebody is there to answer. */
  readonly presence: Pick<DevicePresence, "tracker">;
  tick(): Hlc;
  /** Our HLC when we last merged state from elsewhere (`last_known_state_timestamp`). */
  lastKnownStateTs(): Hlc;
  /** Queues a request in the outbox, on the user's sync channel. */
  publish(request: StateReconciliationRequestMessage): void;
  phase(): SyncClientPhase;
  isLive(): boolean;
  /** Throws `SyncClientStoppedError` once the client is stopping. */
  requireWritable(what: string): void;
  hasState(): boolean;
  state(): UserSyncState;
  /** Publishes our whole state, or `part` of it, as the answer to `requestId`. */
  publishState(request: StateReconciliationRequestMessage, requestId: string, part?: UserSyncState): void;
}

export class ReconciliationRequester {
  readonly #host: ReconciliationRequesterHost;
  #queuedRequest: StateReconciliationRequestMessage | undefined;
  /**
   * This device may lack changes history can no longer give it (a start without snapshot, a
   * history gap, foreground, an explicit request): persisted in the snapshot, and cleared only
   * once one responder's answer to a request issued since has arrived whole. Until then it asks
   * again, with a fresh request id each time, on `reconnected`, when a device comes online, and
   * when an answer window passes while another device is online (with backoff).
   */
  #needsReconciliation: boolean;
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

  /** `needsReconciliation`: the flag as a restored snapshot left it. */
  constructor(host: ReconciliationRequesterHost, needsReconciliation: boolean) {
    this.#host = host;
    this.#needsReconciliation = needsReconciliation;
  }

  /** Still owed a whole answer (the snapshot's `needsReconciliation`). */
  get needsReconciliation(): boolean {
    return this.#needsReconciliation;
  }

  /** `client.requestReconciliation()` (the client checks it is writable first). */
  request(): string {
    this.markNeeded();
    // One request waiting in the outbox answers the triggers that come together (start,
    // foreground, the app): it is asked again anew if no answer comes.
    const queued = this.#queuedRequest;
    if (queued?.request_id !== undefined) {
      this.#answering.set(queued.request_id, new Map());
      return queued.request_id;
    }
    return this.#newRequest();
  }

  /** This device may lack changes history can no longer give it (see `#needsReconciliation`). */
  markNeeded(): void {
    this.#needsReconciliation = true;
    // Only answers to requests issued from now on prove we have caught up.
    this.#answering.clear();
  }

  /**
   * A new request under a new id, never the one still queued: that one may have reached the
   * server already, and responders answer a request id once (bug A).
   */
  requestFresh(): string {
    this.#host.requireWritable("requestReconciliation");
    this.markNeeded();
    this.#queuedRequest = undefined;
    return this.#newRequest();
  }

  /** The outbox published `message` (ours, of any type). */
  published(message: Message): void {
    if (message === this.#queuedRequest) this.#queuedRequest = undefined;
    if (message.msg_type === "state_reconciliation_request") this.#requestPublished(message);
  }

  /** The outbox gave up on `message` (ours, of any type). */
  dropped(message: Message): void {
    if (message === this.#queuedRequest) this.#queuedRequest = undefined;
  }

  /** Another device's response chunk to `requestId`: for the push-back and a whole answer. */
  onOtherResponse(requestId: string, response: StateReconciliationResponseMessage): void {
    const own = this.#ownRequests.get(requestId);
    if (own !== undefined) {
      own.others ??= syncStateEmpty();
      // Already merged into our state by the client, so it cannot throw a double-spent dot here.
      applyMessageInto(own.others, response);
    }
    this.#answerReceived(requestId, response);
  }

  /** A device came online while we still need reconciliation: it may hold what we lack. */
  onDevicesJoined(events: readonly { readonly action: string; readonly device_id: string }[]): void {
    if (!this.#needsReconciliation || !this.#host.isLive() || this.#host.phase() === "starting") return;
    if (!events.some((e) => e.action === "join" && e.device_id !== this.#host.deviceId)) return;
    // A request still waiting to go out or inside its window covers the newcomer (it reads the
    // request from history as it starts); otherwise ask now.
    if (this.#queuedRequest !== undefined || this.#requestInWindow()) return;
    this.requestFresh();
  }

  /** Cancels every answer window and the pending retry (the client stops). */
  cancelAll(): void {
    for (const own of this.#ownRequests.values()) own.cancel?.();
    this.#ownRequests.clear();
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
  }

  #newRequest(): string {
    this.#cancelRetry?.();
    this.#cancelRetry = undefined;
    const timestamp = this.#host.tick();
    const requestId = `${this.#host.incarnation}:${timestamp}`;
    const message = checkOutgoing<StateReconciliationRequestMessage>("requestReconciliation", {
      msg_type: "state_reconciliation_request",
      device_id: this.#host.deviceId,
      last_known_state_timestamp: this.#host.lastKnownStateTs(),
      requested_states: [...STATE_TYPES],
      request_id: requestId,
    });
    this.#queuedRequest = message;
    this.#ownRequests.set(requestId, { others: undefined, cancel: undefined });
    this.#answering.set(requestId, new Map());
    this.#host.count.requested++;
    // Stored in history (one small message): a device away while it was asked finds it when it
    // catches up and can still answer with what only it holds. The answers are stored only when
    // small (D27): large ones would push the deltas catch-up needs out of the channel's 100.
    this.#host.publish(message);
    return requestId;
  }

  /** Our request reached the transport: the answers have `reconciliationWindowMs` to come. */
  #requestPublished(request: StateReconciliationRequestMessage): void {
    const requestId = request.request_id;
    const own = requestId === undefined ? undefined : this.#ownRequests.get(requestId);
    if (requestId === undefined || own === undefined || own.cancel !== undefined) return;
    own.cancel = this.#host.scheduler.schedule(this.#host.windowMs, () => {
      this.#ownRequests.delete(requestId);
      this.#pushBack(request, requestId, own.others);
      this.#windowEnded();
    });
  }

  /**
   * An answer window passed. Still not reconciled (the answers were lost, or nobody held
   * state): ask again if somebody is there to answer, waiting longer each time so a household
   * of empty devices does not fill the channel with requests (bug C). A lone device waits for
   * a device to come online (`onDevicesJoined`) or for `reconnected`.
   */
  #windowEnded(): void {
    if (!this.#needsReconciliation || !this.#host.isLive() || this.#cancelRetry !== undefined) return;
    if (this.#queuedRequest !== undefined || this.#requestInWindow() || !this.#otherDeviceOnline()) return;
    const wait = this.#retryWaitMs;
    this.#retryWaitMs = Math.min(Math.max(2 * wait, this.#host.windowMs), MAX_RECONCILIATION_RETRY_MS);
    this.#cancelRetry = this.#host.scheduler.schedule(wait, () => {
      this.#cancelRetry = undefined;
      if (this.#needsReconciliation && this.#host.isLive() && this.#queuedRequest === undefined) {
        this.requestFresh();
      }
    });
  }

  /** One of our requests went out and its answer window is still open. */
  #requestInWindow(): boolean {
    for (const own of this.#ownRequests.values()) if (own.cancel !== undefined) return true;
    return false;
  }

  #otherDeviceOnline(): boolean {
    for (const view of this.#host.presence.tracker.devices.values()) {
      if (view.online && view.deviceId !== this.#host.deviceId) return true;
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
   * they were away), we publish what they lacked, as an answer to our own request. Otherwise a
   * device holding the only copy of a change would keep it to itself until somebody happened to
   * ask it. Only what they lacked, so that it is small enough to be stored (D27).
   */
  #pushBack(
    request: StateReconciliationRequestMessage,
    requestId: string,
    others: UserSyncState | undefined,
  ): void {
    if (!this.#host.isLive() || !this.#host.hasState()) return;
    if (others === undefined) {
      // Nobody answered: our whole state, for whoever may be listening.
      this.#host.count.pushedBack++;
      this.#host.publishState(request, requestId);
      return;
    }
    // Only what the answers lacked: usually a few entries, small enough to be kept in history,
    // so a device away right now still gets it when it catches up (bug G, D27).
    const missing = syncStateMissingFrom(this.#host.state(), others);
    if (syncStateIsEmpty(missing)) return;
    this.#host.count.pushedBack++;
    this.#host.publishState(request, requestId, missing);
  }
}
