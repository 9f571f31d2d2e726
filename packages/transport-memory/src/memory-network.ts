/**
 * A simulated PubNub on virtual time, after Yjs's `TestConnector` (tests/testHelper.js): every
 * client talks to one server over its own link, and the network decides, from one seeded
 * generator, how long each hop takes, which hops are lost (and resent), which deliveries are
 * duplicated, and who is cut off. Same seed and same calls ⇒ same trace, byte for byte.
 *
 * The model (each rule is a guarantee of crdt-core `transport.ts` or a fault the issue asks for):
 * - A call is a request up the client's link and a response down it. A lost hop is resent after
 *   `retryIntervalMs`; the server remembers what it answered, so a resent request is not redone.
 *   Publishes travel one ordered link per channel (FIFO per publisher per channel, in call order);
 *   everything else shares one ordered link.
 * - The server stamps each publish with the next timetoken (virtual ms followed by a 4-digit
 *   counter, as PubNub's 100-ns ticks), stores it under spec 9.1's retention (count and age) and
 *   only then answers (acknowledged means stored), and sends it to every subscriber over an ordered
 *   link per (publisher, channel): latency differs per delivery, so messages of different
 *   publishers arrive in different orders at different clients, never one publisher's out of order.
 * - Partitions cut clients off from the server (and so from everyone): their calls are held and
 *   resent when they are back, deliveries on the wire are dropped, and on the way back the server
 *   resends from history what they missed (from the oldest message they did not get), then the
 *   transport emits `reconnected`, with `gap: true` when history had already evicted some of it.
 * - Presence (DEVIATIONS 7): a connected client is kept alive by its connection, as the PubNub SDK
 *   heartbeats by itself; once cut off, it times out after two of ITS OWN announced intervals.
 *
 * Virtual time only moves inside `runFor`, `runUntilQuiet` and `runUntilSettled`, which fire due
 * events in time order and, after each event that reached client code, let the host run promise
 * callbacks (one macrotask turn), so code awaiting a transport call resumes at the right instant.
 */
import {
  CHANNEL_RETENTION,
  type ChannelKind,
  type ChannelRetention,
  type Clock,
  DEFAULT_CHANNEL_RETENTION,
  type HereNowOccupant,
  type HereNowResult,
  type HistoryResult,
  MAX_MESSAGE_BYTES,
  MISSED_HEARTBEATS_BEFORE_OFFLINE,
  parseChannel,
  type Random,
  type Scheduler,
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
import { ChannelLog, type StoredMessage } from "./channel-log.js";
import {
  ClientSession,
  type Delivery,
  type MemoryRequest,
  type MemoryRequestResults,
  type PendingRequest,
  type PresenceRecord,
  type RequestOutcome,
} from "./client-session.js";
import { EventQueue, type ScheduledEvent } from "./event-queue.js";
import { channelNameProblem, MemoryTransport, type NetworkPort } from "./memory-transport.js";
import { OrderedLink } from "./ordered-link.js";
import { randomInt, seededRandom } from "./random.js";
import { TraceLog } from "./trace-log.js";

/** One-way latency of a hop, in whole milliseconds, drawn uniformly from `[minMs, maxMs]`. */
export interface LatencyRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** `up`: client to server; `down`: server to client. */
export type LinkDirection = "up" | "down";

/** One range for every link, or a range per client link and direction. */
export type LatencyModel = LatencyRange | ((clientId: string, direction: LinkDirection) => LatencyRange);

/**
 * Replaces rows of spec 9.1's retention table (crdt-core `CHANNEL_RETENTION`): per channel kind,
 * or per channel name (return `undefined` to fall back to the table).
 */
export type RetentionOverride =
  | Partial<Readonly<Record<ChannelKind, ChannelRetention>>>
  | ((channel: string) => ChannelRetention | undefined);

/** What `setConditions` can change while the simulation runs. */
export interface NetworkConditions {
  readonly latency?: LatencyModel;
  /** Probability that one hop is lost (and resent after `retryIntervalMs`); in [0, 1). */
  readonly lossRate?: number;
  /** Probability that a delivery to a subscriber arrives a second time; in [0, 1]. */
  readonly duplicateRate?: number;
}

export interface MemoryNetworkOptions extends NetworkConditions {
  /** Decides every latency, loss and duplication: same seed, same trace. Any safe integer. */
  readonly seed: number;
  /** Virtual wall-clock time at the start, ms since the epoch (default 2024-12-06T16:00:00Z). */
  readonly startTimeMs?: number;
  /** How long a sender waits before resending a lost hop (default 1000 ms). */
  readonly retryIntervalMs?: number;
  /** The publish limit in UTF-8 bytes of JSON (default 32 KiB, PubNub's). */
  readonly maxMessageBytes?: number;
  readonly retention?: RetentionOverride;
  /** Keep every trace line for `trace()` (default true); the digest is kept either way. */
  readonly recordTrace?: boolean;
}

export interface RunOptions {
  /** Virtual milliseconds to run at most before giving up with an error (default one hour). */
  readonly maxMs?: number;
}

export const DEFAULT_START_TIME_MS = 1_733_500_800_000;
export const DEFAULT_LATENCY: LatencyRange = Object.freeze({ minMs: 10, maxMs: 40 });
export const DEFAULT_RETRY_INTERVAL_MS = 1000;
export const DEFAULT_RUN_LIMIT_MS = 3_600_000;

interface ChannelState {
  readonly log: ChannelLog;
  /** The newest timetoken published here, stored or not. */
  last: Timetoken | undefined;
}

interface Occupant {
  session: ClientSession;
  /** The pending timeout while the occupant is cut off. */
  timeout: ScheduledEvent | undefined;
}

type RunMode = "for" | "quiet" | "settled";

function operationOf(op: MemoryRequest["op"]): TransportOperation {
  switch (op) {
    case "publish":
    case "subscribe":
    case "unsubscribe":
    case "history":
      return op;
    case "heartbeat":
    case "set-state":
    case "here-now":
    case "leave":
      return "presence";
    default:
      return "channel-group";
  }
}

function describe(request: PendingRequest): string {
  const r = request.request;
  return r.op === "publish" || r.op === "history"
    ? `${r.op}#${request.id} ${r.channel}`
    : `${r.op}#${request.id}`;
}

function checkRate(name: string, value: number, max: number, maxIncluded: boolean): void {
  if (!(value >= 0 && (maxIncluded ? value <= max : value < max)))
    throw new RangeError(`${name} must be in [0, ${max}${maxIncluded ? "]" : ")"}, got ${String(value)}`);
}

function checkLatency(name: string, range: LatencyRange): void {
  const { minMs, maxMs } = range;
  if (!Number.isSafeInteger(minMs) || !Number.isSafeInteger(maxMs) || minMs < 0 || maxMs < minMs)
    throw new RangeError(
      `${name} must be whole milliseconds with 0 <= minMs <= maxMs, got ${JSON.stringify(range)}`,
    );
}

function checkRetention(name: string, retention: ChannelRetention): ChannelRetention {
  if (!Number.isSafeInteger(retention.count) || retention.count < 0 || !(retention.durationMs >= 0))
    throw new RangeError(
      `${name} must have a non-negative integer count and durationMs >= 0, got ${JSON.stringify(retention)}`,
    );
  return retention;
}

function checkDuration(name: string, ms: number): void {
  if (!(Number.isFinite(ms) && ms >= 0))
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(ms)}`);
}

function checkClientId(clientId: unknown): asserts clientId is string {
  const problem = channelNameProblem(clientId);
  if (problem !== undefined) throw new RangeError(`clientId ${problem}`);
}

function lower(map: Map<string, Timetoken>, key: string, value: Timetoken): void {
  const current = map.get(key);
  if (current === undefined || timetokenCompare(value, current) < 0) map.set(key, value);
}

/** Lets the host run everything queued (promise callbacks first): one macrotask turn. */
function makeYield(): () => Promise<void> {
  const host = globalThis as { setImmediate?: (callback: () => void) => unknown };
  const setImmediate = host.setImmediate;
  if (typeof setImmediate === "function")
    return () =>
      new Promise((resolve) => {
        setImmediate(resolve);
      });
  if (typeof MessageChannel === "function") {
    // Browsers: a message is a macrotask without setTimeout's 4 ms clamp.
    const waiting: (() => void)[] = [];
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      waiting.shift()?.();
    };
    return () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(undefined);
      });
  }
  return () =>
    new Promise((resolve) => {
      setTimeout(resolve, 0);
    });
}

export class MemoryNetwork {
  readonly seed: number;
  readonly startTimeMs: number;
  readonly retryIntervalMs: number;
  readonly maxMessageBytes: number;
  /** Timers on virtual time for the code under test (heartbeats, throttles, backoff). */
  readonly scheduler: Scheduler;

  private nowMs: number;
  private readonly queue = new EventQueue();
  private readonly random: Random;
  private readonly clientRandoms = new Map<string, Random>();
  private readonly traceLog: TraceLog;
  private latency: LatencyModel = DEFAULT_LATENCY;
  private lossRate = 0;
  private duplicateRate = 0;
  private readonly retention: RetentionOverride | undefined;

  /** Open sessions by client id, in the order they were opened (fan-out order). */
  private readonly sessions = new Map<string, ClientSession>();
  private readonly incarnations = new Map<string, number>();
  private readonly skews = new Map<string, number>();
  /** Clients taken off the network one by one (`disconnect`). */
  private readonly down = new Set<string>();
  /** Clients on the far side of the current partition. */
  private away = new Set<string>();

  private readonly channels = new Map<string, ChannelState>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly occupants = new Map<string, Map<string, Occupant>>();

  private timetokenMs = -1;
  private timetokenTick = 0;
  private nextRequestId = 1;
  /** Whether the event being run reached client code (a listener, a promise, a timer). */
  private touched = false;
  private failure: { readonly error: unknown } | undefined;
  private running = false;
  private yieldToHost: (() => Promise<void>) | undefined;
  private readonly port: NetworkPort;

  constructor(options: MemoryNetworkOptions) {
    const {
      seed,
      startTimeMs = DEFAULT_START_TIME_MS,
      retryIntervalMs = DEFAULT_RETRY_INTERVAL_MS,
      maxMessageBytes = MAX_MESSAGE_BYTES,
      retention,
      recordTrace = true,
    } = options;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
    // Positive, so the first timetoken is never "0", which history reads as "the beginning".
    if (!Number.isSafeInteger(startTimeMs) || startTimeMs <= 0)
      throw new RangeError(`startTimeMs must be a positive integer, got ${String(startTimeMs)}`);
    if (!Number.isSafeInteger(retryIntervalMs) || retryIntervalMs <= 0)
      throw new RangeError(`retryIntervalMs must be a positive integer, got ${String(retryIntervalMs)}`);
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes <= 0)
      throw new RangeError(`maxMessageBytes must be a positive integer, got ${String(maxMessageBytes)}`);
    if (retention !== undefined && typeof retention !== "function")
      for (const [kind, value] of Object.entries(retention))
        if (value !== undefined) checkRetention(`retention.${kind}`, value);
    this.seed = seed;
    this.startTimeMs = startTimeMs;
    this.nowMs = startTimeMs;
    this.retryIntervalMs = retryIntervalMs;
    this.maxMessageBytes = maxMessageBytes;
    this.retention = retention;
    this.random = seededRandom(seed, "network");
    this.traceLog = new TraceLog(recordTrace);
    this.setConditions(options);
    this.scheduler = {
      schedule: (delayMs, callback) => {
        checkDuration("delayMs", delayMs);
        const event = this.queue.push(this.nowMs + delayMs, "timer", () => {
          this.touched = true;
          callback();
        });
        return () => this.queue.cancel(event);
      },
    };
    this.port = {
      maxMessageBytes,
      request: (session, request) => this.request(session, request),
      close: (session) => this.closeSession(session),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Time, clocks and randomness

  /** Virtual time, ms since the epoch: the server's clock (and the timetokens' source). */
  now(): number {
    return this.nowMs;
  }

  /** `clientId`'s wall clock: virtual time plus its skew (`setSkew`), read live. */
  clock(clientId: string): Clock {
    checkClientId(clientId);
    return { now: () => this.nowMs + (this.skews.get(clientId) ?? 0) };
  }

  /** Sets how far `clientId`'s clock runs ahead (positive) or behind (negative), in ms. */
  setSkew(clientId: string, skewMs: number): void {
    checkClientId(clientId);
    if (!Number.isFinite(skewMs)) throw new RangeError(`skewMs must be finite, got ${String(skewMs)}`);
    this.skews.set(clientId, skewMs);
    this.log(`${clientId} clock skew ${skewMs}ms`);
  }

  /**
   * A generator for `clientId`'s own randomness (jitter, ids), derived from the seed and the id:
   * independent of the network's, so what a client draws never changes the faults. The same
   * generator is returned on every call, so a restarted client continues the sequence.
   */
  randomFor(clientId: string): Random {
    checkClientId(clientId);
    let random = this.clientRandoms.get(clientId);
    if (random === undefined) {
      random = seededRandom(this.seed, `client:${clientId}`);
      this.clientRandoms.set(clientId, random);
    }
    return random;
  }

  /** Changes latency, loss or duplication from now on (what is already on the wire keeps its fate). */
  setConditions(conditions: NetworkConditions): void {
    const { latency, lossRate, duplicateRate } = conditions;
    if (latency !== undefined && typeof latency !== "function") checkLatency("latency", latency);
    if (lossRate !== undefined) checkRate("lossRate", lossRate, 1, false);
    if (duplicateRate !== undefined) checkRate("duplicateRate", duplicateRate, 1, true);
    if (latency !== undefined) this.latency = latency;
    if (lossRate !== undefined) this.lossRate = lossRate;
    if (duplicateRate !== undefined) this.duplicateRate = duplicateRate;
  }

  // -------------------------------------------------------------------------------------------
  // Clients and topology

  /**
   * Opens a transport for `clientId` (its `publisher` and presence `uuid`). One open transport per
   * id; close it before opening another (a device restart).
   */
  client(clientId: string): Transport {
    checkClientId(clientId);
    if (this.sessions.has(clientId))
      throw new Error(
        `MemoryNetwork: client ${JSON.stringify(clientId)} already has an open transport; close it first`,
      );
    const incarnation = (this.incarnations.get(clientId) ?? 0) + 1;
    this.incarnations.set(clientId, incarnation);
    const session = new ClientSession(clientId, incarnation, this.isConnected(clientId));
    this.sessions.set(clientId, session);
    this.log(`${clientId} open #${incarnation}${session.reachable ? "" : " (offline)"}`);
    return new MemoryTransport(session, this.port);
  }

  /** Whether `clientId` can reach the server now. */
  isConnected(clientId: string): boolean {
    return !this.down.has(clientId) && !this.away.has(clientId);
  }

  /**
   * Splits the clients: `groups[0]` stays with the server; every client of a later group is cut
   * off from it, and since all traffic goes through the server, from everyone. Clients named in
   * no group stay with the server. Replaces the previous partition.
   */
  partition(groups: readonly (readonly string[])[]): void {
    if (!Array.isArray(groups)) throw new TypeError("groups must be an array of arrays of client ids");
    const seen = new Set<string>();
    const away = new Set<string>();
    groups.forEach((group, index) => {
      if (!Array.isArray(group)) throw new TypeError(`groups[${index}] must be an array of client ids`);
      for (const clientId of group) {
        checkClientId(clientId);
        if (seen.has(clientId)) throw new RangeError(`client ${JSON.stringify(clientId)} is in two groups`);
        seen.add(clientId);
        if (index > 0) away.add(clientId);
      }
    });
    this.away = away;
    this.log(`partition ${groups.map((group) => `[${group.join(",")}]`).join(" | ")}`);
    this.refreshReachability();
  }

  /** Ends the partition (clients taken off with `disconnect` stay off). */
  heal(): void {
    this.away = new Set();
    this.log("heal");
    this.refreshReachability();
  }

  /** Takes one client off the network until `reconnect` (as if its Wi-Fi dropped). */
  disconnect(clientId: string): void {
    checkClientId(clientId);
    this.down.add(clientId);
    this.log(`disconnect ${clientId}`);
    this.refreshReachability();
  }

  reconnect(clientId: string): void {
    checkClientId(clientId);
    this.down.delete(clientId);
    this.log(`reconnect ${clientId}`);
    this.refreshReachability();
  }

  // -------------------------------------------------------------------------------------------
  // Driving virtual time

  /** Runs every event due in the next `ms` of virtual time, then sets the clock to now + ms. */
  runFor(ms: number): Promise<void> {
    checkDuration("ms", ms);
    return this.drive("for", () => false, this.nowMs + ms, ms);
  }

  /** The same as `runFor`, under the name fake-timer libraries use. */
  advance(ms: number): Promise<void> {
    return this.runFor(ms);
  }

  /**
   * Runs until nothing is in flight: no request, response or delivery on the wire (application
   * timers and presence timeouts do not count: a heartbeat loop never ends). Calls held by a
   * partition wait for the heal and do not count either. Throws if still busy after `maxMs`.
   */
  runUntilQuiet(options: RunOptions = {}): Promise<void> {
    const maxMs = options.maxMs ?? DEFAULT_RUN_LIMIT_MS;
    checkDuration("maxMs", maxMs);
    return this.drive("quiet", () => this.queue.work === 0, this.nowMs + maxMs, maxMs);
  }

  /**
   * Runs until `promise` settles and returns its outcome: `await network.runUntilSettled(t.publish(…))`.
   * Throws if nothing left could settle it, or after `maxMs`.
   */
  async runUntilSettled<T>(promise: Promise<T>, options: RunOptions = {}): Promise<T> {
    const maxMs = options.maxMs ?? DEFAULT_RUN_LIMIT_MS;
    checkDuration("maxMs", maxMs);
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await this.drive("settled", () => settled, this.nowMs + maxMs, maxMs);
    return promise;
  }

  /** Network events on the wire now (requests, responses, deliveries). */
  inFlight(): number {
    return this.queue.work;
  }

  /** What happened, one line per event: `<ms since start> <event>`. */
  trace(): readonly string[] {
    return this.traceLog.lines();
  }

  /** A hash of the whole trace (kept even with `recordTrace: false`). */
  traceDigest(): string {
    return this.traceLog.digest();
  }

  private async drive(mode: RunMode, done: () => boolean, deadline: number, limitMs: number): Promise<void> {
    if (this.running) throw new Error("MemoryNetwork: a run is already in progress; await it first");
    this.running = true;
    this.yieldToHost ??= makeYield();
    const yieldToHost = this.yieldToHost;
    try {
      // Code that ran before this call may still have callbacks queued that start new work.
      await yieldToHost();
      this.rethrowFailure();
      for (;;) {
        if (done()) return;
        const next = this.queue.peek();
        if (next === undefined || next.time > deadline) {
          if (mode === "for") {
            this.nowMs = deadline;
            return;
          }
          if (mode === "quiet")
            throw new Error(
              `MemoryNetwork.runUntilQuiet: still busy after ${limitMs} ms of virtual time (${this.queue.work} network events pending)`,
            );
          throw new Error(
            next === undefined
              ? "MemoryNetwork.runUntilSettled: the promise is pending and nothing scheduled can settle it"
              : `MemoryNetwork.runUntilSettled: the promise is still pending after ${limitMs} ms of virtual time`,
          );
        }
        this.queue.pop();
        this.nowMs = next.time;
        this.touched = false;
        try {
          next.run();
        } catch (error) {
          this.failure ??= { error };
        }
        if (this.touched) await yieldToHost();
        this.rethrowFailure();
      }
    } finally {
      this.running = false;
    }
  }

  /** A listener or timer that threw fails the run that was driving the network. */
  private rethrowFailure(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    throw failure.error;
  }

  // -------------------------------------------------------------------------------------------
  // The wire

  private log(text: string): void {
    this.traceLog.record(`${this.nowMs - this.startTimeMs} ${text}`);
  }

  /** A network event that belongs to `session`'s link: cancelled if the link goes down. */
  private sessionEvent(session: ClientSession, delayMs: number, run: () => void): void {
    const event = this.queue.push(this.nowMs + delayMs, "work", () => {
      session.inFlight.delete(event);
      run();
    });
    session.inFlight.add(event);
  }

  private drawLatency(clientId: string, direction: LinkDirection): number {
    const model = this.latency;
    let range: LatencyRange;
    if (typeof model === "function") {
      range = model(clientId, direction);
      checkLatency(`latency(${JSON.stringify(clientId)}, ${JSON.stringify(direction)})`, range);
    } else {
      range = model;
    }
    return randomInt(this.random, range.minMs, range.maxMs);
  }

  /** Sends one hop: it arrives after a latency draw, or is lost and resent after the retry interval. */
  private transmit(
    session: ClientSession,
    direction: LinkDirection,
    label: string,
    arrive: () => void,
  ): void {
    const attempt = (): void => {
      const latency = this.drawLatency(session.clientId, direction);
      if (this.lossRate > 0 && this.random() < this.lossRate) {
        this.log(`${label} lost, resent in ${this.retryIntervalMs}ms`);
        this.sessionEvent(session, this.retryIntervalMs, attempt);
      } else {
        this.sessionEvent(session, latency, arrive);
      }
    };
    attempt();
  }

  private request<R extends MemoryRequest>(
    session: ClientSession,
    request: R,
  ): Promise<MemoryRequestResults[R["op"]]> {
    return new Promise((resolve, reject) => {
      const pending: PendingRequest = {
        id: this.nextRequestId++,
        request,
        operation: operationOf(request.op),
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      session.pending.set(pending.id, pending);
      if (session.reachable) this.sendRequest(session, pending);
      else this.log(`${session.clientId} ${describe(pending)} held (offline)`);
    });
  }

  private sendRequest(session: ClientSession, pending: PendingRequest): void {
    const request = pending.request;
    const key = request.op === "publish" ? `publish\n${request.channel}` : "control";
    let link = session.uplinks.get(key);
    if (link === undefined) {
      link = new OrderedLink();
      session.uplinks.set(key, link);
    }
    const uplink = link;
    const slot = uplink.enqueue(pending);
    this.transmit(session, "up", `${session.clientId} ${describe(pending)}`, () => {
      for (const ready of uplink.arrive(slot)) this.serve(session, ready);
    });
  }

  private serve(session: ClientSession, pending: PendingRequest): void {
    let outcome = session.processed.get(pending.id);
    if (outcome === undefined) {
      outcome = this.handle(session, pending);
      session.processed.set(pending.id, outcome);
    } else {
      this.log(`server ${session.clientId} ${describe(pending)} again, answered as before`);
    }
    const answer = outcome;
    this.transmit(session, "down", `${session.clientId} ${describe(pending)} response`, () =>
      this.complete(session, pending, answer),
    );
  }

  private complete(session: ClientSession, pending: PendingRequest, outcome: RequestOutcome): void {
    if (session.pending.get(pending.id) !== pending) return;
    session.pending.delete(pending.id);
    session.processed.delete(pending.id);
    this.touched = true;
    if (!outcome.ok) {
      this.log(`${session.clientId} ${describe(pending)} failed: ${outcome.error.code}`);
      pending.reject(outcome.error);
      return;
    }
    const request = pending.request;
    this.log(`${session.clientId} ${describe(pending)} ok`);
    if (request.op === "subscribe" && !session.connectedAnnounced) {
      session.connectedAnnounced = true;
      this.notify(session, "status connected", (listener) =>
        listener.status?.({ type: "connected", channels: request.channels, channelGroups: request.groups }),
      );
    }
    pending.resolve(outcome.value);
  }

  /** Hands something to `session`'s listeners; a listener that throws fails the current run. */
  private notify(session: ClientSession, what: string, call: (listener: TransportListener) => void): void {
    if (session.closed) return;
    this.log(`${session.clientId} ${what}`);
    this.touched = true;
    for (const listener of [...session.listeners]) {
      try {
        call(listener);
      } catch (error) {
        this.failure ??= { error };
      }
    }
  }

  private deliver(session: ClientSession, delivery: Delivery): void {
    const key =
      delivery.kind === "message"
        ? `${delivery.message.publisher}\n${delivery.message.channel}`
        : `\npresence\n${delivery.event.channel}`;
    let link = session.downlinks.get(key);
    if (link === undefined) {
      link = new OrderedLink();
      session.downlinks.set(key, link);
    }
    const downlink = link;
    const slot = downlink.enqueue(delivery);
    const label =
      delivery.kind === "message"
        ? `${session.clientId} <- ${delivery.message.channel} ${delivery.message.timetoken}`
        : `${session.clientId} <- presence ${delivery.event.channel} ${delivery.event.timetoken}`;
    this.transmit(session, "down", label, () => {
      for (const ready of downlink.arrive(slot)) this.handOver(session, ready, false);
    });
  }

  private handOver(session: ClientSession, delivery: Delivery, duplicate: boolean): void {
    if (session.closed) return;
    if (!duplicate && this.duplicateRate > 0 && this.random() < this.duplicateRate) {
      const delay = this.drawLatency(session.clientId, "down");
      this.sessionEvent(session, delay, () => this.handOver(session, delivery, true));
    }
    const copy = duplicate ? " (duplicate)" : "";
    if (delivery.kind === "presence") {
      const event = delivery.event;
      if (!this.wantsPresence(session, event.channel)) return;
      const out: TransportPresenceEvent = {
        channel: event.channel,
        action: event.action,
        uuid: event.uuid,
        occupancy: event.occupancy,
        timestampMs: event.timestampMs,
        timetoken: event.timetoken,
        ...(event.stateText === undefined ? {} : { state: JSON.parse(event.stateText) as unknown }),
      };
      this.notify(session, `presence ${event.channel} ${event.action} ${event.uuid}${copy}`, (listener) =>
        listener.presence?.(out),
      );
      return;
    }
    const message = delivery.message;
    const catchUp = delivery.catchUp && !duplicate;
    if (catchUp) session.catchUpOutstanding--;
    const subscription = this.subscriptionOf(session, message.channel);
    if (subscription === undefined) {
      this.log(`${session.clientId} dropped ${message.channel} ${message.timetoken}: not subscribed`);
    } else {
      if (session.newestSeen === undefined || timetokenCompare(message.timetoken, session.newestSeen) > 0)
        session.newestSeen = message.timetoken;
      const out = this.toTransportMessage(message, subscription);
      const via = subscription === message.channel ? "" : ` via ${subscription}`;
      const kind = delivery.catchUp ? " (catch-up)" : "";
      this.notify(
        session,
        `got ${message.channel} ${message.timetoken} from ${message.publisher}${via}${kind}${copy}`,
        (listener) => listener.message?.(out),
      );
    }
    if (catchUp && session.catchUpOutstanding === 0) this.announceReconnected(session);
  }

  private toTransportMessage(message: StoredMessage, subscription: string): TransportMessage {
    const base = {
      channel: message.channel,
      subscription,
      timetoken: message.timetoken,
      publisher: message.publisher,
      payload: JSON.parse(message.payloadText) as unknown,
    };
    return message.metaText === undefined
      ? base
      : { ...base, meta: JSON.parse(message.metaText) as Readonly<Record<string, unknown>> };
  }

  // -------------------------------------------------------------------------------------------
  // Cuts and reconnects

  private refreshReachability(): void {
    for (const session of [...this.sessions.values()]) {
      const reachable = this.isConnected(session.clientId);
      if (reachable === session.reachable) continue;
      if (reachable) this.restore(session);
      else this.cut(session);
    }
  }

  private cut(session: ClientSession): void {
    session.reachable = false;
    this.log(`${session.clientId} cut off`);
    // Where a catch-up must resume: before the oldest message the client was sent and did not get,
    // or, on a channel with nothing on the wire, after the channel's newest message.
    const resume = new Map<string, Timetoken>();
    for (const link of session.downlinks.values())
      for (const delivery of link.drain())
        if (delivery.kind === "message") lower(resume, delivery.message.channel, delivery.message.previous);
    session.downlinks.clear();
    session.uplinks.clear();
    for (const event of session.inFlight) this.queue.cancel(event);
    session.inFlight.clear();
    session.catchUpOutstanding = 0;
    for (const channel of this.subscribedChannels(session))
      if (!resume.has(channel)) resume.set(channel, this.channels.get(channel)?.last ?? "0");
    for (const [channel, after] of resume) lower(session.resumeAfter, channel, after);

    if (session.connectedAnnounced && !session.awaitingReconnect) {
      session.awaitingReconnect = true;
      session.lastTimetokenAtCut = session.newestSeen;
      const reason = this.down.has(session.clientId)
        ? "disconnected from the network"
        : "partitioned away from the server";
      this.queue.push(this.nowMs, "work", () =>
        this.notify(session, "status disconnected", (listener) =>
          listener.status?.({ type: "disconnected", reason }),
        ),
      );
    }

    // The server stops hearing from it: two of its own intervals later it times out (DEVIATIONS 7).
    const timeoutMs = MISSED_HEARTBEATS_BEFORE_OFFLINE * session.heartbeatIntervalSec * 1000;
    for (const channel of session.presentOn) {
      const occupant = this.occupants.get(channel)?.get(session.clientId);
      if (occupant === undefined || occupant.session !== session || occupant.timeout !== undefined) continue;
      occupant.timeout = this.queue.push(this.nowMs + timeoutMs, "presence", () => {
        occupant.timeout = undefined;
        this.removeOccupant(session, channel, "timeout");
      });
    }
  }

  private restore(session: ClientSession): void {
    session.reachable = true;
    this.log(`${session.clientId} back online`);
    for (const channel of session.presentOn) {
      const occupant = this.occupants.get(channel)?.get(session.clientId);
      if (occupant?.session === session && occupant.timeout !== undefined) {
        this.queue.cancel(occupant.timeout);
        occupant.timeout = undefined;
      }
    }
    // Back within its timeout it is still present; after it, it joins again.
    this.reconcilePresence(session);

    let sent = 0;
    let gap = false;
    if (session.resumeAfter.size > 0) {
      const subscribed = this.subscribedChannels(session);
      for (const [channel, after] of session.resumeAfter) {
        const state = this.channels.get(channel);
        if (!subscribed.has(channel) || state === undefined) continue;
        this.expire(channel, state);
        const evicted = state.log.evictedNewest;
        if (evicted !== undefined && timetokenCompare(evicted, after) > 0) gap = true;
        for (const message of state.log.since(after)) {
          this.deliver(session, { kind: "message", message, catchUp: true });
          sent++;
        }
      }
      session.resumeAfter.clear();
      this.log(
        `server catch-up for ${session.clientId}: ${sent} from history${gap ? ", history has a gap" : ""}`,
      );
    }
    session.gapSinceCut ||= gap;
    session.catchUpOutstanding = sent;
    if (session.awaitingReconnect && sent === 0)
      this.sessionEvent(session, this.drawLatency(session.clientId, "down"), () =>
        this.announceReconnected(session),
      );
    // Held and interrupted calls go out again, in call order; the server does not redo answered ones.
    for (const pending of session.pending.values()) this.sendRequest(session, pending);
  }

  private announceReconnected(session: ClientSession): void {
    if (!session.awaitingReconnect) return;
    session.awaitingReconnect = false;
    const status: TransportStatus = {
      type: "reconnected",
      lastTimetoken: session.lastTimetokenAtCut,
      gap: session.gapSinceCut,
    };
    session.gapSinceCut = false;
    this.notify(session, `status reconnected${status.gap ? " with a gap" : ""}`, (listener) =>
      listener.status?.(status),
    );
  }

  private closeSession(session: ClientSession): void {
    if (session.closed) return;
    session.closed = true;
    this.log(`${session.clientId} close`);
    const pending = [...session.pending.values()];
    session.pending.clear();
    session.processed.clear();
    for (const event of session.inFlight) this.queue.cancel(event);
    session.inFlight.clear();
    session.uplinks.clear();
    session.downlinks.clear();
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    if (session.reachable) {
      // The SDK's leave on the way out: occupants see `leave` once it reaches the server.
      const delay = this.drawLatency(session.clientId, "up");
      this.queue.push(this.nowMs + delay, "work", () => {
        this.log(`server ${session.clientId} left`);
        this.unsubscribeAll(session);
        this.reconcilePresence(session);
      });
    } else {
      // Nothing gets through: its presence times out as a cut-off client's does.
      this.unsubscribeAll(session);
    }
    for (const request of pending) {
      this.touched = true;
      request.reject(
        new TransportError(
          "closed",
          request.operation,
          `transport of ${session.clientId} closed before an answer`,
        ),
      );
    }
  }

  private unsubscribeAll(session: ClientSession): void {
    session.channels.clear();
    session.groups.clear();
    session.presenceChannels.clear();
    session.presenceGroups.clear();
  }

  // -------------------------------------------------------------------------------------------
  // The server

  private handle(session: ClientSession, pending: PendingRequest): RequestOutcome {
    let value: unknown;
    try {
      value = this.serveRequest(session, pending);
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      this.log(`server ${session.clientId} ${describe(pending)} refused: ${error.code}`);
      return { ok: false, error };
    }
    return { ok: true, value };
  }

  private serveRequest(session: ClientSession, pending: PendingRequest): unknown {
    const request = pending.request;
    if (request.op === "publish") return this.publish(session, pending.id, request);
    this.log(`server ${session.clientId} ${describe(pending)}`);
    switch (request.op) {
      case "subscribe": {
        for (const channel of request.channels)
          session.channels.set(channel, request.withPresence || session.channels.get(channel) === true);
        for (const group of request.groups)
          session.groups.set(group, request.withPresence || session.groups.get(group) === true);
        if (request.withPresence) {
          for (const channel of request.channels) session.presenceChannels.add(channel);
          for (const group of request.groups) session.presenceGroups.add(group);
        }
        this.reconcilePresence(session);
        return undefined;
      }
      case "unsubscribe":
        for (const channel of request.channels) {
          session.channels.delete(channel);
          session.presenceChannels.delete(channel);
        }
        for (const group of request.groups) {
          session.groups.delete(group);
          session.presenceGroups.delete(group);
        }
        this.reconcilePresence(session);
        return undefined;
      case "history":
        return this.history(request.channel, request);
      case "heartbeat": {
        session.heartbeatIntervalSec = request.intervalSeconds;
        for (const channel of request.channels) session.presenceChannels.add(channel);
        for (const group of request.groups) session.presenceGroups.add(group);
        const stateText = request.stateText;
        if (stateText !== undefined) {
          for (const channel of request.channels) this.setState(session, channel, stateText);
          for (const group of request.groups)
            for (const channel of this.groups.get(group) ?? []) this.setState(session, channel, stateText);
        }
        this.reconcilePresence(session);
        return undefined;
      }
      case "set-state":
        for (const channel of request.channels) this.setState(session, channel, request.stateText);
        return undefined;
      case "here-now":
        return this.hereNow(request.channels, request.includeState);
      case "leave":
        for (const channel of request.channels) session.presenceChannels.delete(channel);
        for (const group of request.groups) session.presenceGroups.delete(group);
        this.reconcilePresence(session);
        return undefined;
      case "group-add": {
        let members = this.groups.get(request.group);
        if (members === undefined) {
          members = new Set();
          this.groups.set(request.group, members);
        }
        for (const channel of request.channels) members.add(channel);
        this.reconcileGroup(request.group);
        return undefined;
      }
      case "group-remove": {
        const members = this.groups.get(request.group);
        if (members !== undefined) for (const channel of request.channels) members.delete(channel);
        this.reconcileGroup(request.group);
        return undefined;
      }
      case "group-list":
        return [...(this.groups.get(request.group) ?? [])];
      case "group-delete":
        this.groups.delete(request.group);
        this.reconcileGroup(request.group);
        return undefined;
    }
  }

  private publish(
    session: ClientSession,
    id: number,
    request: Extract<MemoryRequest, { op: "publish" }>,
  ): MemoryRequestResults["publish"] {
    const channel = request.channel;
    const state = this.channelState(channel);
    const timetoken = this.nextTimetoken();
    const message: StoredMessage = {
      channel,
      timetoken,
      previous: state.last ?? "0",
      publisher: session.clientId,
      payloadText: request.payloadText,
      metaText: request.metaText,
      publishedAtMs: this.nowMs,
    };
    state.last = timetoken;
    let stored = "not stored";
    if (request.store && state.log.retention.count > 0) {
      const evicted = state.log.append(message, this.nowMs);
      stored = evicted > 0 ? `stored, ${evicted} evicted` : "stored";
    }
    this.log(`server ${session.clientId} publish#${id} ${channel} ${timetoken} ${stored}`);
    for (const subscriber of this.sessions.values())
      if (subscriber.reachable && this.subscriptionOf(subscriber, channel) !== undefined)
        this.deliver(subscriber, { kind: "message", message, catchUp: false });
    return { timetoken };
  }

  private history(channel: string, request: Extract<MemoryRequest, { op: "history" }>): HistoryResult {
    const state = this.channels.get(channel);
    if (state === undefined) return { messages: [] };
    this.expire(channel, state);
    const options = {
      count: request.count,
      ...(request.start === undefined ? {} : { start: request.start }),
      ...(request.end === undefined ? {} : { end: request.end }),
    };
    return { messages: state.log.query(options).map((message) => this.toTransportMessage(message, channel)) };
  }

  private hereNow(channels: readonly string[], includeState: boolean): HereNowResult {
    return {
      channels: Object.fromEntries(
        channels.map((channel) => {
          const entries = [...(this.occupants.get(channel) ?? new Map<string, Occupant>())];
          // By uuid in code-unit order: a stable answer whatever the join order.
          entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          const occupants = entries.map(([uuid, occupant]): HereNowOccupant => {
            const stateText = includeState ? occupant.session.states.get(channel) : undefined;
            return stateText === undefined ? { uuid } : { uuid, state: JSON.parse(stateText) as unknown };
          });
          return [channel, { occupancy: occupants.length, occupants }];
        }),
      ),
    };
  }

  /** PubNub's "now" as a timetoken: ms then a 4-digit counter, so tokens strictly increase. */
  private nextTimetoken(): Timetoken {
    const ms = Math.floor(this.nowMs);
    if (ms > this.timetokenMs) {
      this.timetokenMs = ms;
      this.timetokenTick = 0;
    } else if (++this.timetokenTick > 9999) {
      this.timetokenMs++;
      this.timetokenTick = 0;
    }
    return `${this.timetokenMs}${String(this.timetokenTick).padStart(4, "0")}`;
  }

  private channelState(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (state === undefined) {
      state = { log: new ChannelLog(this.retentionOf(channel)), last: undefined };
      this.channels.set(channel, state);
    }
    return state;
  }

  /** Spec 9.1 (crdt-core `CHANNEL_RETENTION`), under the override; unknown names get the default row. */
  private retentionOf(channel: string): ChannelRetention {
    const override = this.retention;
    if (typeof override === "function") {
      const chosen = override(channel);
      if (chosen !== undefined) return checkRetention(`retention(${JSON.stringify(channel)})`, chosen);
    }
    const parsed = parseChannel(channel);
    if (!parsed.ok) return DEFAULT_CHANNEL_RETENTION;
    const kind = parsed.value.kind;
    if (typeof override === "object") {
      const chosen = override[kind];
      if (chosen !== undefined) return chosen;
    }
    return CHANNEL_RETENTION[kind];
  }

  private expire(channel: string, state: ChannelState): void {
    const evicted = state.log.expire(this.nowMs);
    if (evicted > 0) this.log(`server ${channel} ${evicted} expired`);
  }

  /** The channel or group through which `session` receives `channel`, if it does. */
  private subscriptionOf(session: ClientSession, channel: string): string | undefined {
    if (session.channels.has(channel)) return channel;
    for (const group of session.groups.keys()) if (this.groups.get(group)?.has(channel)) return group;
    return undefined;
  }

  private wantsPresence(session: ClientSession, channel: string): boolean {
    if (session.channels.get(channel) === true) return true;
    for (const [group, withPresence] of session.groups)
      if (withPresence && this.groups.get(group)?.has(channel)) return true;
    return false;
  }

  private subscribedChannels(session: ClientSession): Set<string> {
    const out = new Set(session.channels.keys());
    for (const group of session.groups.keys())
      for (const channel of this.groups.get(group) ?? []) out.add(channel);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Presence

  /** Makes the occupant lists match what `session` asked for: joins and leaves, with events. */
  private reconcilePresence(session: ClientSession): void {
    const wanted = new Set<string>();
    if (!session.closed) {
      for (const channel of session.presenceChannels) wanted.add(channel);
      for (const group of session.presenceGroups)
        for (const channel of this.groups.get(group) ?? []) wanted.add(channel);
    }
    for (const channel of [...session.presentOn])
      if (!wanted.has(channel)) this.removeOccupant(session, channel, "leave");
    // A client the server cannot hear joins when it is back.
    if (!session.reachable || session.closed) return;
    for (const channel of wanted) {
      let entries = this.occupants.get(channel);
      if (entries === undefined) {
        entries = new Map();
        this.occupants.set(channel, entries);
      }
      const occupant = entries.get(session.clientId);
      if (occupant === undefined) {
        entries.set(session.clientId, { session, timeout: undefined });
        session.presentOn.add(channel);
        this.presenceEvent(channel, "join", session.clientId, session.states.get(channel));
      } else if (occupant.session !== session) {
        // A restarted client within its predecessor's timeout: still present, no event.
        if (occupant.timeout !== undefined) this.queue.cancel(occupant.timeout);
        occupant.session.presentOn.delete(channel);
        occupant.session = session;
        occupant.timeout = undefined;
        session.presentOn.add(channel);
      }
    }
  }

  private reconcileGroup(group: string): void {
    for (const session of this.sessions.values())
      if (session.presenceGroups.has(group)) this.reconcilePresence(session);
  }

  private removeOccupant(session: ClientSession, channel: string, action: "leave" | "timeout"): void {
    session.presentOn.delete(channel);
    const entries = this.occupants.get(channel);
    const occupant = entries?.get(session.clientId);
    if (entries === undefined || occupant === undefined || occupant.session !== session) return;
    if (occupant.timeout !== undefined) this.queue.cancel(occupant.timeout);
    entries.delete(session.clientId);
    if (entries.size === 0) this.occupants.delete(channel);
    this.presenceEvent(channel, action, session.clientId, undefined);
  }

  private setState(session: ClientSession, channel: string, stateText: string): void {
    const previous = session.states.get(channel);
    session.states.set(channel, stateText);
    if (previous !== stateText && this.occupants.get(channel)?.get(session.clientId)?.session === session)
      this.presenceEvent(channel, "state-change", session.clientId, stateText);
  }

  private presenceEvent(
    channel: string,
    action: PresenceRecord["action"],
    uuid: string,
    stateText: string | undefined,
  ): void {
    const event: PresenceRecord = {
      channel,
      action,
      uuid,
      occupancy: this.occupants.get(channel)?.size ?? 0,
      timestampMs: Math.floor(this.nowMs),
      timetoken: this.nextTimetoken(),
      stateText,
    };
    this.log(`server presence ${channel} ${action} ${uuid} occupancy ${event.occupancy}`);
    for (const subscriber of this.sessions.values())
      if (subscriber.reachable && this.wantsPresence(subscriber, channel))
        this.deliver(subscriber, { kind: "presence", event });
  }
}
