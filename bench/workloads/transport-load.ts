/**
 * The machinery of the transport benchmarks (issue 8 §3): a server in a worker thread, clients
 * ("endpoints") on the main thread, an open-loop paced publisher, a windowed saturating
 * publisher, and the latency record.
 *
 * Latency: every payload carries `t`, the `performance.now()` at which it was SCHEDULED to be
 * sent (open loop, as wrk2 does), and each subscriber takes `performance.now() - t` on receipt,
 * on the same thread, so one clock. A publisher that falls behind its schedule (a busy event
 * loop, a blocked socket, a full queue) therefore shows up as latency instead of quietly sending
 * later and hiding the wait: that is the coordinated-omission correction. A message not received
 * within the drain window counts as infinitely late in the percentiles, never as dropped from
 * them.
 *
 * Every loop is bounded by a message count and a deadline; every wait has a timeout.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { WebSocket } from "ws";
import type { Transport } from "../core-api.js";
import type { ServerKind, ServerReply, ServerRequest, ServerWorkerData } from "./transport-servers.js";

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a rejection after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The server, in a worker thread

export class ServerHandle {
  readonly #worker: Worker;
  readonly #pending = new Map<number, (reply: ServerReply) => void>();
  #nextId = 1;
  #stopped = false;

  private constructor(
    worker: Worker,
    readonly kind: ServerKind,
    /** `ws://127.0.0.1:PORT[/v1]`, or the emulator's `127.0.0.1:PORT`. */
    readonly address: string,
  ) {
    this.#worker = worker;
    worker.on("message", (reply: ServerReply) => {
      if (!("id" in reply)) return;
      const settle = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      settle?.(reply);
    });
  }

  /** Starts `kind` on 127.0.0.1 and a free port; the worker is terminated if it fails. */
  static async start(
    kind: ServerKind,
    options: { readonly secret?: Uint8Array } = {},
  ): Promise<ServerHandle> {
    const data: ServerWorkerData = {
      entry: new URL("./transport-servers.ts", import.meta.url).href,
      kind,
      ...(options.secret === undefined ? {} : { secret: Buffer.from(options.secret).toString("base64") }),
    };
    const worker = new Worker(new URL("./worker-boot.mjs", import.meta.url), { workerData: data });
    try {
      const address = await within(
        new Promise<string>((resolve, reject) => {
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`server worker exited with ${code}`)));
          worker.on("message", (reply: ServerReply) => {
            if ("type" in reply && reply.type === "ready") resolve(reply.address);
            if ("type" in reply && reply.type === "failed") reject(new Error(reply.error));
          });
        }),
        20_000,
        `starting ${kind}`,
      );
      worker.removeAllListeners("exit");
      worker.removeAllListeners("error");
      worker.on("error", (error) => process.stderr.write(`${kind} server worker: ${String(error)}\n`));
      return new ServerHandle(worker, kind, address);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  request(op: ServerRequest["op"], timeoutMs = 5_000): Promise<unknown> {
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, (reply) => {
        if ("error" in reply) reject(new Error(reply.error));
        else if ("result" in reply) resolve(reply.result);
      });
    });
    this.#worker.postMessage({ id, op } satisfies ServerRequest);
    return within(answer, timeoutMs, `${this.kind} ${op}`).finally(() => this.#pending.delete(id));
  }

  /** The server thread's event-loop utilisation since `markBusy` (0..1). */
  async busy(): Promise<number> {
    return (await this.request("elu-read")) as number;
  }

  async markBusy(): Promise<void> {
    await this.request("elu-mark");
  }

  /** Closes the server (bounded: the hub waits at most its shutdown timeout), then ends the thread. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.request("stop", 15_000);
    } catch (error) {
      process.stderr.write(`${this.kind}: ${String(error)}; terminating its thread\n`);
    } finally {
      await this.#worker.terminate();
    }
  }
}

export function newSecret(): Uint8Array {
  return randomBytes(32);
}

// ---------------------------------------------------------------------------------------------
// Clients

/** What a benchmark client can do: subscribe, publish without waiting, hand payloads over. */
export interface Endpoint {
  subscribe(channel: string): Promise<void>;
  /** Fire and forget: a failure is counted in `publishErrors`, never thrown. */
  publish(channel: string, payload: Payload): void;
  /** One publish awaited (run 0: ignored by every `Run`), so the connection is up. */
  prime(channel: string): Promise<void>;
  onPayload(receive: (payload: unknown) => void): void;
  close(): Promise<void>;
}

/** Publish failures by code (`queue_full`, `network`, …), over all endpoints. */
export const publishErrors = new Map<string, number>();

function countError(error: unknown): void {
  const code =
    typeof error === "object" && error !== null && "code" in error ? String(error.code) : String(error);
  publishErrors.set(code, (publishErrors.get(code) ?? 0) + 1);
}

/** A client of the raw fan-out server: the whole cost is framing and one `JSON.parse`. */
export async function rawEndpoint(url: string): Promise<Endpoint> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    }),
    10_000,
    "raw ws connect",
  );
  socket.on("error", () => {});
  const acks = new Map<string, () => void>();
  let receive: (payload: unknown) => void = () => {};
  socket.on("message", (data: Buffer) => {
    const text = data.toString("utf8");
    if (text.charCodeAt(0) === 0x6b /* k */) {
      acks.get(text.slice(1))?.();
      return;
    }
    receive(JSON.parse(text.slice(text.indexOf("\n") + 1)));
  });
  return {
    subscribe: (channel) =>
      within(
        new Promise<void>((resolve) => {
          acks.set(channel, resolve);
          socket.send(`s${channel}`);
        }),
        10_000,
        `raw ws subscribe ${channel}`,
      ),
    prime: async () => {},
    publish(channel, payload) {
      // No callback: the ceiling does the least a client can (a closed socket shows as loss).
      socket.send(`p${channel}\n${JSON.stringify(payload)}`);
    },
    onPayload(callback) {
      receive = callback;
    },
    close: () =>
      within(
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) resolve();
          else {
            socket.once("close", () => resolve());
            socket.close();
          }
        }),
        5_000,
        "raw ws close",
      ).catch(() => socket.terminate()),
  };
}

/** Any mg-sync `Transport`: the hub's client, the PubNub adapter, the memory network's. */
export function transportEndpoint(transport: Transport, closeTimeoutMs = 10_000): Endpoint {
  return {
    subscribe: (channel) => transport.subscribe({ channels: [channel] }),
    publish(channel, payload) {
      transport.publish(channel, payload).catch(countError);
    },
    prime: async (channel) => {
      await transport.publish(channel, { r: 0, s: -1, t: 0, p: "" } satisfies Payload);
    },
    onPayload(callback) {
      transport.addListener({ message: (message) => callback(message.payload) });
    },
    close: () => within(transport.close(), closeTimeoutMs, `closing ${transport.clientId}`).catch(() => {}),
  };
}

/** Runs `tasks` with at most `limit` at a time (opening 3 000 connections at once is a storm). */
export async function inBatches<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  for (let from = 0; from < items.length; from += limit)
    await Promise.all(items.slice(from, from + limit).map((item, i) => task(item, from + i)));
}

// ---------------------------------------------------------------------------------------------
// Payloads and the record of one run

/** `r`: the run, `s`: sequence number, `t`: scheduled send time (`performance.now()`), `p`: padding. */
export interface Payload {
  readonly r: number;
  readonly s: number;
  readonly t: number;
  readonly p: string;
}

/** Padding that brings a payload's JSON to about 240 bytes, the size of an average W3 message. */
export const PADDING = "x".repeat(190);

export function payloadBytes(): number {
  return JSON.stringify({ r: 1, s: 12_345, t: 12_345.678_901_234, p: PADDING } satisfies Payload).length;
}

let nextRunId = 1;

/**
 * One run: `total` messages, each expected by `receivers` subscribers. Latency per (message,
 * receiver), the first receipt only (transports deliver at least once).
 */
export class Run {
  readonly id = nextRunId++;
  /** ms, NaN until received. */
  readonly latency: Float64Array | null;
  readonly #counts: Uint16Array;
  readonly #clock: () => number;
  completed = 0;
  duplicates = 0;
  lastCompletedAt = 0;
  onComplete: ((seq: number, now: number) => void) | null = null;

  constructor(
    readonly total: number,
    readonly receivers: number,
    options: { readonly latency: boolean; readonly clock?: () => number } = { latency: true },
  ) {
    this.latency = options.latency ? new Float64Array(total * receivers).fill(Number.NaN) : null;
    this.#counts = new Uint16Array(total);
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** What a subscriber calls with every payload it gets; `receiver` is its index, 0-based. */
  receive(payload: unknown, receiver: number): void {
    const now = this.#clock();
    const p = payload as Payload;
    if (p.r !== this.id || !(p.s >= 0 && p.s < this.total)) return;
    const latency = this.latency;
    if (latency !== null) {
      const slot = p.s * this.receivers + receiver;
      if (!Number.isNaN(latency[slot]!)) {
        this.duplicates++;
        return;
      }
      latency[slot] = now - p.t;
    }
    const count = ++this.#counts[p.s]!;
    if (count === this.receivers) {
      this.completed++;
      this.lastCompletedAt = now;
      this.onComplete?.(p.s, now);
    }
  }

  isComplete(seq: number): boolean {
    return this.#counts[seq] === this.receivers;
  }
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly samples: number;
  /** Share of expected receipts that did not arrive within the drain window. */
  readonly missing: number;
}

/** Nearest-rank percentiles of the latencies of messages `from`… (missing receipts: +∞). */
export function percentiles(run: Run, from: number): Percentiles {
  const latency = run.latency;
  if (latency === null) throw new Error("percentiles: the run kept no latencies");
  const samples = latency.slice(from * run.receivers);
  let missing = 0;
  for (let i = 0; i < samples.length; i++)
    if (Number.isNaN(samples[i]!)) {
      samples[i] = Number.POSITIVE_INFINITY;
      missing++;
    }
  samples.sort();
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
  return {
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: samples[samples.length - 1]!,
    samples: samples.length,
    missing: missing / samples.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Publishers

export interface PacedResult {
  /** Scheduled send time of the first and last message. */
  readonly firstAt: number;
  readonly lastAt: number;
  /** How late each message was actually handed to the transport, ms. */
  readonly sendLag: Float64Array;
  readonly sent: number;
}

/**
 * Open loop: message `i` is due at `start + i / rate`; every timer tick (≈ 1 ms) sends what is
 * due, each stamped with its due time. Never waits for an answer, so back-pressure cannot slow
 * the schedule. A tick sends at most 2 ms worth of messages and then yields, so a publisher
 * that has fallen behind does not starve the subscribers sharing its thread (what it still owes
 * keeps its due-time stamps, so the delay is counted). Stops at `total` or `hardStopAt`.
 */
export function paced(
  total: number,
  ratePerSec: number,
  send: (seq: number, dueAt: number) => void,
  hardStopAt: number,
): Promise<PacedResult> {
  const interval = 1000 / ratePerSec;
  const start = performance.now() + 2;
  const sendLag = new Float64Array(total);
  const burst = Math.max(4, Math.ceil(ratePerSec / 500));
  let next = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      let now = performance.now();
      const stop = Math.min(total, next + burst);
      while (next < stop && start + next * interval <= now) {
        const due = start + next * interval;
        send(next, due);
        sendLag[next] = now - due;
        next++;
        now = performance.now();
      }
      if (next >= total || now > hardStopAt) {
        resolve({ firstAt: start, lastAt: start + (next - 1) * interval, sendLag, sent: next });
        return;
      }
      const wait = start + next * interval - now;
      if (wait <= 0) setImmediate(tick);
      else setTimeout(tick, wait);
    };
    setTimeout(tick, 2);
  });
}

/**
 * Publishers and subscribers of one scenario. Subscribers hand every payload to
 * `current?.receive(payload, theirIndex)`; `publish` picks the publisher and channel from `seq`.
 */
export interface Fleet {
  /** Subscribers that must receive each message (the latency samples per message). */
  readonly receivers: number;
  current: Run | null;
  publish(seq: number, payload: Payload): void;
  close(): Promise<void>;
}

/** Waits until `run` has every message, or `deadline` (performance.now()) passes. */
export async function drained(run: Run, deadline: number): Promise<boolean> {
  while (run.completed < run.total) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

export interface LoadPlan {
  readonly rate: number;
  /** Sent first at the same rate, not recorded. */
  readonly warmup: number;
  readonly messages: number;
}

export interface LoadResult extends Percentiles {
  /** Measured messages received by every subscriber, per second from the first one's due time. */
  readonly receivedMsgPerSec: number;
  readonly sendLagP99Ms: number;
  readonly sent: number;
  readonly duplicates: number;
}

/** One offered load on `fleet`: open-loop publishing, then at most `drainMs` for stragglers. */
export async function offeredLoad(fleet: Fleet, plan: LoadPlan, drainMs: number): Promise<LoadResult> {
  const total = plan.warmup + plan.messages;
  const run = new Run(total, fleet.receivers);
  fleet.current = run;
  const scheduleMs = (total / plan.rate) * 1000;
  const sending = await paced(
    total,
    plan.rate,
    (seq, dueAt) => fleet.publish(seq, { r: run.id, s: seq, t: dueAt, p: PADDING }),
    performance.now() + scheduleMs * 2 + 2_000,
  );
  await drained(run, sending.lastAt + drainMs);
  fleet.current = null;
  let complete = 0;
  for (let seq = plan.warmup; seq < total; seq++) if (run.isComplete(seq)) complete++;
  const firstMeasuredAt = sending.firstAt + (plan.warmup * 1000) / plan.rate;
  const lags = sending.sendLag.slice(plan.warmup, sending.sent).sort();
  return {
    ...percentiles(run, plan.warmup),
    receivedMsgPerSec:
      complete === 0 ? 0 : (complete / Math.max(run.lastCompletedAt - firstMeasuredAt, 1e-3)) * 1000,
    sendLagP99Ms: lags.length === 0 ? 0 : lags[Math.ceil(0.99 * lags.length) - 1]!,
    sent: sending.sent,
    duplicates: run.duplicates,
  };
}

export interface SaturationOptions {
  /** Messages published and not yet received by every subscriber, at most. */
  readonly window: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Upper bound on messages, whatever the rate. */
  readonly maxMessages: number;
  /** A message missing this long is written off (lost), freeing its window slot. */
  readonly writeOffMs: number;
}

export interface SaturationResult {
  /** Messages received by every subscriber per second: the median of the measured slices. */
  readonly msgPerSec: number;
  /** The rate of each slice (the measured part cut in `SLICES`), to show the spread. */
  readonly sliceMsgPerSec: readonly number[];
  readonly completedInWindow: number;
  readonly writtenOff: number;
  readonly published: number;
}

/** The measured part of a throughput row is cut in this many slices; the row reports their median. */
export const SLICES = 3;

/**
 * Closed loop with a window: keeps `window` messages in flight, publishing the next one as soon
 * as one has reached every subscriber. Once the window is full of queued messages the server or
 * the slowest subscriber is saturated, so completions per second are the most this setup can
 * sustain; the window keeps the queues (and so latency and memory) bounded while it measures.
 */
export async function saturate(fleet: Fleet, options: SaturationOptions): Promise<SaturationResult> {
  const run = new Run(options.maxMessages, fleet.receivers, { latency: false });
  const sentAt = new Float64Array(options.maxMessages);
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.measureMs;
  let next = 0;
  let inFlight = 0;
  let oldest = 0;
  let writtenOff = 0;
  let completedInWindow = 0;
  const slices = new Array<number>(SLICES).fill(0);
  const sliceMs = options.measureMs / SLICES;
  const pump = (): void => {
    let now = performance.now();
    while (inFlight < options.window && next < options.maxMessages && now < end) {
      sentAt[next] = now;
      fleet.publish(next, { r: run.id, s: next, t: now, p: PADDING });
      next++;
      inFlight++;
      now = performance.now();
    }
  };
  run.onComplete = (seq, now) => {
    if (sentAt[seq]! < 0) return; // already written off
    inFlight--;
    if (now >= measureFrom && now < end) {
      completedInWindow++;
      slices[Math.min(SLICES - 1, Math.floor((now - measureFrom) / sliceMs))]!++;
    }
    pump();
  };
  fleet.current = run;
  pump();
  // Bounded: ends at `end`, however the transport behaves.
  while (performance.now() < end) {
    await sleep(20);
    const now = performance.now();
    while (oldest < next && (run.isComplete(oldest) || sentAt[oldest]! < 0)) oldest++;
    for (let seq = oldest; seq < next && now - sentAt[seq]! > options.writeOffMs; seq++) {
      if (run.isComplete(seq) || sentAt[seq]! < 0) continue;
      sentAt[seq] = -1;
      writtenOff++;
      inFlight--;
    }
    pump();
  }
  run.onComplete = null;
  // Let what is still in flight arrive (bounded), so it does not load the next measurement.
  const quietBy = performance.now() + 500;
  while (run.completed + writtenOff < next && performance.now() < quietBy) await sleep(5);
  fleet.current = null;
  const sliceMsgPerSec = slices.map((n) => (n / sliceMs) * 1000);
  return {
    msgPerSec: [...sliceMsgPerSec].sort((a, b) => a - b)[SLICES >> 1]!,
    sliceMsgPerSec,
    completedInWindow,
    writtenOff,
    published: next,
  };
}

/** The main thread's event-loop utilisation since `mark` (0..1). */
export function mainBusy(mark: ReturnType<typeof performance.eventLoopUtilization>): number {
  return performance.eventLoopUtilization(mark).utilization;
}
