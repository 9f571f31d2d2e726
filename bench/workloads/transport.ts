/**
 * Section 3 of issue 8: transport benchmarks, on 127.0.0.1 only.
 *
 *   - publish → receive latency p50 / p99 / p99.9 at fixed offered loads, one publisher and 10
 *     subscribers on one user channel, for the raw `ws` fan-out server (the ceiling), the ws hub
 *     (`WsHub` + `WsTransport`), the PubNub adapter on the local emulator, and the memory
 *     network (virtual time: its latencies are the simulation's, its rate is wall clock);
 *   - 1 000 user channels × 3 devices (device 0 publishes, devices 1 and 2 are measured) at
 *     10 000 msg/s, raw ws and the hub;
 *   - maximum sustained throughput, 1 publisher → 10 subscribers (a closed loop with a window);
 *   - spec 10.1's end-to-end sync: `watchlist.add` on device A → device B's `change` event, two
 *     `createSyncClient`s on the real clock, over the hub and over the PubNub emulator.
 *
 * How: `transport-load.ts` (pacing, coordinated omission, percentiles); the servers run in a
 * worker thread (`transport-servers.ts`), the clients and both ends of every latency stamp on
 * the main thread. Every server is stopped in a `finally`; every wait is bounded.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import {
  createSyncClient,
  type SyncClient,
  systemClock,
  systemRandom,
  systemScheduler,
} from "@mg-sync/sync-client";
import { MemoryNetwork } from "@mg-sync/transport-memory";
import { PubNubTransport } from "@mg-sync/transport-pubnub";
import { WsTransport } from "@mg-sync/transport-ws";
import { userToken } from "@mg-sync/transport-ws/server";
import type { DeviceCapabilities, SyncChange, Transport } from "../core-api.js";
import { collect } from "../harness.js";
import {
  type SuiteOutput,
  TRANSPORTS,
  type TransportMeasurement,
  type TransportName,
  type TransportRow,
} from "../results.js";
import {
  type Endpoint,
  type Fleet,
  inBatches,
  type LoadPlan,
  type LoadResult,
  mainBusy,
  newSecret,
  offeredLoad,
  PADDING,
  paced,
  payloadBytes,
  percentiles,
  publishErrors,
  Run,
  rawEndpoint,
  type SaturationOptions,
  ServerHandle,
  SLICES,
  saturate,
  sleep,
  transportEndpoint,
  within,
} from "./transport-load.js";

/** The transports with a server (in the worker thread). */
type ServerTransport = Exclude<TransportName, "memory">;

const ONE_CHANNEL = "publish → receive, 10 subscribers on one user channel";
const manyChannels = (channels: number, devices: number): string =>
  `${channels.toLocaleString("en-US").replace(",", " ")} channels × ${devices} devices`;
const MAX = "max sustained throughput, 1 publisher → 10 subscribers";
const E2E = "end-to-end sync (spec 10.1): A's change → B's state";

const SUBSCRIBERS = 10;
const BENCH_USER = "bench";
const CHANNEL = `user.${BENCH_USER}.sync`;

interface TransportPlan {
  /** Offered loads of the one-channel scenario (raw ws, hub, memory). */
  readonly loads: readonly LoadPlan[];
  /** The PubNub adapter: one HTTP request per publish, a long-poll per subscriber. */
  readonly pubnubLoads: readonly LoadPlan[];
  /** The memory network: fewer messages, since it runs on one thread and yields per event. */
  readonly memoryLoads: readonly LoadPlan[];
  readonly manyChannels: { readonly channels: number; readonly devices: number; readonly load: LoadPlan };
  readonly drainMs: number;
  readonly saturation: Omit<SaturationOptions, "window">;
  /** Messages the memory network's throughput row pushes through. */
  readonly memoryThroughputMessages: number;
  readonly e2e: LoadPlan;
}

const FULL: TransportPlan = {
  loads: [
    { rate: 1_000, warmup: 300, messages: 2_000 },
    { rate: 10_000, warmup: 3_000, messages: 10_000 },
    { rate: 50_000, warmup: 10_000, messages: 25_000 },
  ],
  pubnubLoads: [
    { rate: 100, warmup: 50, messages: 300 },
    { rate: 300, warmup: 100, messages: 600 },
    { rate: 1_000, warmup: 200, messages: 1_000 },
  ],
  memoryLoads: [
    { rate: 1_000, warmup: 300, messages: 3_000 },
    { rate: 10_000, warmup: 1_000, messages: 10_000 },
    { rate: 50_000, warmup: 2_000, messages: 20_000 },
  ],
  manyChannels: { channels: 1_000, devices: 3, load: { rate: 10_000, warmup: 3_000, messages: 10_000 } },
  drainMs: 2_000,
  saturation: { warmupMs: 400, measureMs: 1_500, maxMessages: 1_000_000, writeOffMs: 1_000 },
  memoryThroughputMessages: 10_000,
  e2e: { rate: 100, warmup: 20, messages: 200 },
};

const QUICK: TransportPlan = {
  loads: [{ rate: 10_000, warmup: 1_000, messages: 3_000 }],
  pubnubLoads: [{ rate: 100, warmup: 20, messages: 100 }],
  memoryLoads: [
    { rate: 10_000, warmup: 500, messages: 3_000 },
    { rate: 50_000, warmup: 500, messages: 5_000 },
  ],
  // 300 users, not 1 000: connecting and closing 3 000 clients twice is a third of the quick budget.
  manyChannels: { channels: 300, devices: 3, load: { rate: 10_000, warmup: 1_000, messages: 3_000 } },
  drainMs: 1_000,
  saturation: { warmupMs: 200, measureMs: 500, maxMessages: 400_000, writeOffMs: 500 },
  memoryThroughputMessages: 3_000,
  e2e: { rate: 100, warmup: 5, messages: 50 },
};

/**
 * In-flight window of the throughput rows. Half of `WsTransport`'s default publish queue (1 000,
 * acknowledgements trail deliveries) for both ws servers; PubNub's subscribe cache keeps 100
 * messages per channel, so a subscriber further behind than that loses messages.
 */
const WINDOW: Record<ServerTransport, number> = {
  "raw-ws": 500,
  "ws-hub": 500,
  "pubnub-local": 100,
};

const pubnubLoadsNote = (loads: readonly LoadPlan[]): string =>
  `PubNub adapter: the official SDK sends one HTTP request per publish and keeps a long-poll per subscriber; 11 SDK instances on one thread saturate it at a few hundred msg/s, so it is offered ${loads.map((l) => l.rate.toLocaleString("en-US").replace(",", " ")).join(", ")} msg/s instead of 1 000, 10 000 and 50 000 (what it cannot carry shows as late, missing or \`> window\`)`;

type Log = (line: string) => void;

/** Rows keyed by id, in the order the report prints them. */
class Rows {
  readonly #rows = new Map<string, TransportRow>();

  pending(id: string, transport: string, scenario: string, offered: number | null): void {
    this.#rows.set(id, {
      id,
      transport,
      scenario,
      offeredMsgPerSec: offered,
      p50Ms: null,
      p99Ms: null,
      p999Ms: null,
      sustainedMsgPerSec: null,
    });
  }

  set(row: TransportRow): void {
    this.#rows.set(row.id, row);
  }

  /** A scenario that failed: its pending rows carry the error. */
  failed(prefix: string, error: unknown): void {
    for (const [id, row] of this.#rows)
      if (id.startsWith(prefix) && row.measured === undefined)
        this.#rows.set(id, {
          ...row,
          measured: {
            clock: "wall",
            maxMs: null,
            messages: 0,
            samples: 0,
            missing: 1,
            drainMs: null,
            note: `did not run: ${error instanceof Error ? error.message : String(error)}`,
          },
        });
  }

  all(): TransportRow[] {
    return [...this.#rows.values()];
  }
}

function takePublishErrors(): Readonly<Record<string, number>> | undefined {
  if (publishErrors.size === 0) return undefined;
  const out = Object.fromEntries(publishErrors);
  publishErrors.clear();
  return out;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function latencyRow(
  id: string,
  transport: string,
  scenario: string,
  plan: LoadPlan,
  result: LoadResult,
  drainMs: number,
  busy: { server?: number; client?: number },
  note?: string,
): TransportRow {
  const errors = takePublishErrors();
  const measured: TransportMeasurement = {
    clock: "wall",
    maxMs: finite(result.max),
    messages: plan.messages,
    samples: result.samples,
    missing: result.missing,
    drainMs,
    sendLagP99Ms: result.sendLagP99Ms,
    ...(busy.server === undefined ? {} : { serverBusy: busy.server }),
    ...(busy.client === undefined ? {} : { clientBusy: busy.client }),
    ...(errors === undefined ? {} : { publishErrors: errors }),
    ...(note === undefined ? {} : { note }),
  };
  return {
    id,
    transport,
    scenario,
    offeredMsgPerSec: plan.rate,
    p50Ms: finite(result.p50),
    p99Ms: finite(result.p99),
    p999Ms: finite(result.p999),
    sustainedMsgPerSec: result.receivedMsgPerSec,
    measured,
  };
}

// ---------------------------------------------------------------------------------------------
// Fleets: who publishes, who subscribes

type EndpointFactory = (clientId: string, userId: string) => Promise<Endpoint>;

/** One publisher and `SUBSCRIBERS` subscribers on the bench user's sync channel. */
async function oneChannelFleet(open: EndpointFactory): Promise<Fleet> {
  const opened: Endpoint[] = [];
  try {
    const publisher = await open("bench-publisher", BENCH_USER);
    opened.push(publisher);
    // Transports connect on first use: connect now, so the first measured publish does not.
    await within(publisher.prime(CHANNEL), 15_000, "the publisher's first publish");
    const fleet: Fleet = {
      receivers: SUBSCRIBERS,
      current: null,
      publish: (_seq, payload) => publisher.publish(CHANNEL, payload),
      close: () => Promise.all(opened.map((e) => e.close())).then(() => {}),
    };
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const subscriber = await open(`bench-sub-${i}`, BENCH_USER);
      opened.push(subscriber);
      subscriber.onPayload((payload) => fleet.current?.receive(payload, i));
    }
    await within(
      Promise.all(opened.slice(1).map((s) => s.subscribe(CHANNEL))),
      15_000,
      "subscribing 10 subscribers",
    );
    return fleet;
  } catch (error) {
    await Promise.all(opened.map((e) => e.close()));
    throw error;
  }
}

/** `channels` users × `devices` devices; device 0 of each publishes, the others are measured. */
async function manyChannelFleet(open: EndpointFactory, channels: number, devices: number): Promise<Fleet> {
  const opened: Endpoint[] = [];
  const publishers: Endpoint[] = [];
  const names: string[] = [];
  const fleet: Fleet = {
    receivers: devices - 1,
    current: null,
    publish: (seq, payload) => {
      const c = seq % channels;
      publishers[c]!.publish(names[c]!, payload);
    },
    close: () => inBatches(opened, 200, (e) => e.close()),
  };
  try {
    const users = Array.from({ length: channels }, (_, c) => c);
    await within(
      inBatches(users, 100, async (c) => {
        const user = `u${c}`;
        const channel = `user.${user}.sync`;
        names[c] = channel;
        for (let d = 0; d < devices; d++) {
          const endpoint = await open(`${user}-d${d}`, user);
          opened.push(endpoint);
          if (d === 0) publishers[c] = endpoint;
          // Device 0 gets its own messages back too (it is subscribed): delivered, not measured.
          else endpoint.onPayload((payload) => fleet.current?.receive(payload, d - 1));
          await endpoint.subscribe(channel);
        }
      }),
      60_000,
      `connecting ${channels * devices} clients`,
    );
    return fleet;
  } catch (error) {
    await fleet.close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios on a real server

interface Section {
  readonly name: ServerTransport;
  readonly server: ServerHandle;
  readonly open: EndpointFactory;
}

/** The hub's own account of trouble during a row: slow-consumer closes and reconnections. */
async function hubCounters(section: Section): Promise<{ slow: number; opened: number } | null> {
  if (section.name !== "ws-hub") return null;
  const stats = (await section.server.request("stats")) as {
    slowConsumerCloses: number;
    connectionsOpened: number;
  };
  return { slow: stats.slowConsumerCloses, opened: stats.connectionsOpened };
}

async function hubTrouble(
  section: Section,
  before: { slow: number; opened: number } | null,
): Promise<string | undefined> {
  const after = await hubCounters(section);
  if (before === null || after === null) return undefined;
  const slow = after.slow - before.slow;
  const reconnects = after.opened - before.opened;
  if (slow === 0 && reconnects === 0) return undefined;
  return `the hub closed ${slow} subscriber connection(s) as slow consumers (over 4 MiB unsent) and ${reconnects} reconnection(s) followed`;
}

async function measureLoads(
  section: Section,
  fleet: Fleet,
  loads: readonly LoadPlan[],
  plan: TransportPlan,
  rows: Rows,
  log: Log,
  scenario: string,
  idPart: string,
  noteFor?: (result: LoadResult) => string | undefined,
): Promise<void> {
  for (const load of loads) {
    collect(); // a full GC now rather than in the middle of the row
    publishErrors.clear(); // what an earlier row's teardown rejected is not this row's
    const counters = await hubCounters(section);
    await section.server.markBusy();
    const mark = performance.eventLoopUtilization();
    const result = await offeredLoad(fleet, load, plan.drainMs);
    const client = mainBusy(mark);
    const server = await section.server.busy();
    const trouble = await hubTrouble(section, counters);
    const note = [noteFor?.(result), trouble].filter((x) => x !== undefined).join("; ");
    rows.set(
      latencyRow(
        `T.${section.name}.${idPart}.${load.rate}`,
        section.name,
        scenario,
        load,
        result,
        plan.drainMs,
        { server, client },
        note === "" ? undefined : note,
      ),
    );
    log(
      `  ${section.name} ${idPart} @ ${load.rate.toLocaleString("en-US")} msg/s: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, p99.9 ${result.p999.toFixed(2)} ms, ${(result.missing * 100).toFixed(2)} % missing, busy server ${(server * 100).toFixed(0)} % / clients ${(client * 100).toFixed(0)} %`,
    );
    await sleep(100);
  }
}

async function measureMax(
  section: Section,
  fleet: Fleet,
  plan: TransportPlan,
  rows: Rows,
  log: Log,
): Promise<void> {
  const window = WINDOW[section.name];
  collect();
  publishErrors.clear();
  const counters = await hubCounters(section);
  await section.server.markBusy();
  const mark = performance.eventLoopUtilization();
  const result = await saturate(fleet, { ...plan.saturation, window });
  const clientBusy = mainBusy(mark);
  const serverBusy = await section.server.busy();
  const trouble = await hubTrouble(section, counters);
  const errors = takePublishErrors();
  rows.set({
    id: `T.${section.name}.max`,
    transport: section.name,
    scenario: MAX,
    offeredMsgPerSec: null,
    p50Ms: null,
    p99Ms: null,
    p999Ms: null,
    sustainedMsgPerSec: result.msgPerSec,
    measured: {
      clock: "wall",
      maxMs: null,
      messages: result.completedInWindow,
      samples: 0,
      missing: result.published === 0 ? 0 : result.writtenOff / result.published,
      drainMs: null,
      rangeMsgPerSec: [Math.min(...result.sliceMsgPerSec), Math.max(...result.sliceMsgPerSec)],
      serverBusy,
      clientBusy,
      ...(errors === undefined ? {} : { publishErrors: errors }),
      note: `closed loop, at most ${window} messages in flight (published, not yet at every subscriber); ${plan.saturation.measureMs} ms measured after ${plan.saturation.warmupMs} ms of warm-up, in ${SLICES} slices: the median slice, the slowest and fastest in brackets${result.writtenOff > 0 ? `; ${result.writtenOff} of ${result.published} messages never reached every subscriber within ${plan.saturation.writeOffMs} ms` : ""}${trouble === undefined ? "" : `; ${trouble}`}`,
    },
  });
  log(
    `  ${section.name} max: ${Math.round(result.msgPerSec).toLocaleString("en-US")} msg/s to ${SUBSCRIBERS} subscribers, busy server ${(serverBusy * 100).toFixed(0)} % / clients ${(clientBusy * 100).toFixed(0)} %`,
  );
}

async function withServer(
  name: ServerTransport,
  kind: "raw-ws" | "ws-hub" | "pubnub",
  secret: Uint8Array,
  openFor: (address: string) => EndpointFactory,
  body: (section: Section) => Promise<void>,
): Promise<void> {
  const server = await ServerHandle.start(kind, { secret });
  try {
    await body({ name, server, open: openFor(server.address) });
  } finally {
    await server.stop();
  }
}

async function withFleet(
  make: () => Promise<Fleet>,
  body: (fleet: Fleet) => Promise<void>,
  log: Log,
): Promise<void> {
  const opening = performance.now();
  const fleet = await make();
  log(`  clients connected and subscribed in ${((performance.now() - opening) / 1000).toFixed(1)} s`);
  try {
    await body(fleet);
  } finally {
    const closing = performance.now();
    await fleet.close();
    log(`  clients closed in ${((performance.now() - closing) / 1000).toFixed(1)} s`);
  }
}

// ---------------------------------------------------------------------------------------------
// End-to-end sync (spec 10.1)

const PHONE: DeviceCapabilities = {
  max_resolution: "FHD",
  audio_codecs: ["AAC"],
  hdr_support: ["HDR10"],
  remote_controllable: false,
  can_cast: true,
  screen_size: 6.1,
};

const TV: DeviceCapabilities = {
  max_resolution: "UHD_4K",
  audio_codecs: ["AAC"],
  hdr_support: ["HDR10"],
  remote_controllable: true,
  can_cast: false,
  screen_size: 65,
};

/**
 * Device A (`phone`) adds titles to the watchlist at `plan.rate` (open loop, the due time kept
 * aside), device B (`tv`) stamps its `change` event for each; latency = B's stamp − due time.
 * Both are ordinary clients: validation, HLC, outbox, merge, on `systemClock` and real timers.
 */
async function endToEnd(
  open: (deviceId: string) => Transport,
  plan: LoadPlan,
  drainMs: number,
): Promise<LoadResult> {
  const total = plan.warmup + plan.messages;
  const transports: Transport[] = [];
  const clients: SyncClient[] = [];
  const make = (deviceId: string, phone: boolean): SyncClient => {
    const transport = open(deviceId);
    transports.push(transport);
    const client = createSyncClient({
      userId: BENCH_USER,
      deviceId,
      deviceType: phone ? "Phone" : "TV",
      platform: phone ? "iOS" : "Tizen",
      appVersion: "1.0.0",
      capabilities: phone ? PHONE : TV,
      transport,
      clock: systemClock,
      scheduler: systemScheduler,
      random: systemRandom,
      stopTimeoutMs: 2_000,
    });
    clients.push(client);
    return client;
  };
  try {
    const a = make("phone-bench", true);
    const b = make("tv-bench", false);
    await within(Promise.all([a.start(), b.start()]), 20_000, "starting two sync clients");
    // Joins, catch-up and the reconciliation request of a fresh device go by first.
    await sleep(300);
    // The end-to-end record: receiver 0 is device B; the payload of a title is its index.
    const run = new Run(total, 1);
    const due = new Float64Array(total);
    const prefix = `tmdb:${run.id}-`;
    b.on("change", (changes: readonly SyncChange[], origin) => {
      if (origin !== "remote") return;
      for (const change of changes) {
        if (change.kind !== "watchlist" || !change.content_id.startsWith(prefix)) continue;
        const seq = Number(change.content_id.slice(prefix.length));
        run.receive({ r: run.id, s: seq, t: due[seq]!, p: "" }, 0);
      }
    });
    const scheduleMs = (total / plan.rate) * 1000;
    const sending = await paced(
      total,
      plan.rate,
      (seq, dueAt) => {
        due[seq] = dueAt;
        a.watchlist.add(`${prefix}${seq}`);
      },
      performance.now() + scheduleMs * 2 + 2_000,
    );
    while (run.completed < total && performance.now() < sending.lastAt + drainMs) await sleep(5);
    let complete = 0;
    for (let seq = plan.warmup; seq < total; seq++) if (run.isComplete(seq)) complete++;
    const firstMeasuredAt = sending.firstAt + (plan.warmup * 1000) / plan.rate;
    return {
      ...percentiles(run, plan.warmup),
      receivedMsgPerSec:
        complete === 0 ? 0 : (complete / Math.max(run.lastCompletedAt - firstMeasuredAt, 1e-3)) * 1000,
      sendLagP99Ms: 0,
      sent: sending.sent,
      duplicates: run.duplicates,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => within(c.stop(), 10_000, `stopping ${c.deviceId}`)));
    await Promise.allSettled(transports.map((t) => within(t.close(), 10_000, `closing ${t.clientId}`)));
  }
}

async function measureEndToEnd(
  name: TransportName,
  open: (deviceId: string) => Transport,
  plan: TransportPlan,
  rows: Rows,
  log: Log,
): Promise<void> {
  publishErrors.clear();
  const result = await endToEnd(open, plan.e2e, plan.drainMs);
  const row = latencyRow(
    `T.${name}.e2e`,
    name,
    E2E,
    plan.e2e,
    result,
    plan.drainMs,
    {},
    `\`watchlist.add\` on device A at ${plan.e2e.rate} changes/s (open loop) → device B's \`change\` event; two \`createSyncClient\`s on systemClock / systemScheduler, ${plan.e2e.messages} changes after ${plan.e2e.warmup} unmeasured. Spec 10.1 SLO: p50 75 ms, p99 150 ms, p99.9 300 ms`,
  );
  rows.set({ ...row, offeredMsgPerSec: null });
  log(
    `  ${name} e2e sync: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, p99.9 ${result.p999.toFixed(2)} ms`,
  );
}

// ---------------------------------------------------------------------------------------------
// The memory network (virtual time)

async function measureMemory(plan: TransportPlan, seed: number, rows: Rows, log: Log): Promise<void> {
  const network = new MemoryNetwork({ seed, recordTrace: false });
  const publisher = network.client("bench-publisher");
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => network.client(`bench-sub-${i}`));
  let run: Run | null = null;
  subscribers.forEach((subscriber, i) => {
    subscriber.addListener({ message: (m) => run?.receive(m.payload, i) });
  });
  try {
    await network.runUntilSettled(Promise.all(subscribers.map((s) => s.subscribe({ channels: [CHANNEL] }))), {
      maxMs: 60_000,
    });
    const publish = (payload: Record<string, unknown>): void => {
      publisher.publish(CHANNEL, payload).catch(() => {});
    };
    for (const load of plan.memoryLoads) {
      const total = load.warmup + load.messages;
      const current = new Run(total, SUBSCRIBERS, { latency: true, clock: () => network.now() });
      run = current;
      const interval = 1000 / load.rate;
      // Open loop on virtual time: each publish fires at its due instant, stamped with it.
      for (let seq = 0; seq < total; seq++)
        network.scheduler.schedule(seq * interval, () =>
          publish({ r: current.id, s: seq, t: network.now(), p: PADDING }),
        );
      const wallStart = performance.now();
      await network.runFor(total * interval + 1);
      await network.runUntilQuiet({ maxMs: 600_000 });
      const wallMs = performance.now() - wallStart;
      run = null;
      const stats = percentiles(current, load.warmup);
      rows.set({
        id: `T.memory.one.${load.rate}`,
        transport: "memory",
        scenario: ONE_CHANNEL,
        offeredMsgPerSec: load.rate,
        p50Ms: finite(stats.p50),
        p99Ms: finite(stats.p99),
        p999Ms: finite(stats.p999),
        sustainedMsgPerSec: (total / wallMs) * 1000,
        measured: {
          clock: "virtual",
          maxMs: finite(stats.max),
          messages: load.messages,
          samples: stats.samples,
          missing: stats.missing,
          drainMs: null,
          note: `virtual time: the latency columns are simulated milliseconds (the default model, 10–40 ms per hop, publisher → server → subscriber, each hop a FIFO link, so at these rates most messages wait behind a slower one just before them and sit near the 80 ms ceiling); msg/s received is how many the simulation delivers to all 10 subscribers per WALL-CLOCK second (${total} messages in ${wallMs.toFixed(0)} ms)`,
        },
      });
      log(
        `  memory @ ${load.rate.toLocaleString("en-US")} msg/s (virtual): p50 ${stats.p50.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms virtual; simulated ${Math.round((total / wallMs) * 1000).toLocaleString("en-US")} msg/s wall clock`,
      );
    }
    // Throughput: every message published at one virtual instant; wall time to deliver all.
    const total = plan.memoryThroughputMessages;
    const current = new Run(total, SUBSCRIBERS, { latency: false, clock: () => network.now() });
    run = current;
    for (let seq = 0; seq < total; seq++) publish({ r: current.id, s: seq, t: network.now(), p: PADDING });
    const wallStart = performance.now();
    await network.runUntilQuiet({ maxMs: 600_000 });
    const wallMs = performance.now() - wallStart;
    run = null;
    rows.set({
      id: "T.memory.max",
      transport: "memory",
      scenario: MAX,
      offeredMsgPerSec: null,
      p50Ms: null,
      p99Ms: null,
      p999Ms: null,
      sustainedMsgPerSec: (current.completed / wallMs) * 1000,
      measured: {
        clock: "virtual",
        maxMs: null,
        messages: total,
        samples: 0,
        missing: 1 - current.completed / total,
        drainMs: null,
        note: `wall clock: ${total} messages published at one virtual instant, delivered to all 10 subscribers in ${wallMs.toFixed(0)} ms of real time (the simulation yields to the host after every delivery)`,
      },
    });
    log(
      `  memory max: ${Math.round((current.completed / wallMs) * 1000).toLocaleString("en-US")} msg/s wall clock`,
    );
  } finally {
    run = null;
    await Promise.allSettled([publisher, ...subscribers].map((t) => network.runUntilSettled(t.close())));
  }
}

// ---------------------------------------------------------------------------------------------
// The suite

function planned(rows: Rows, plan: TransportPlan, only: ReadonlySet<TransportName>): void {
  const loadsOf = (name: TransportName): readonly LoadPlan[] =>
    name === "pubnub-local" ? plan.pubnubLoads : name === "memory" ? plan.memoryLoads : plan.loads;
  for (const name of TRANSPORTS) {
    if (!only.has(name)) continue;
    for (const load of loadsOf(name))
      rows.pending(`T.${name}.one.${load.rate}`, name, ONE_CHANNEL, load.rate);
  }
  const { channels, devices, load } = plan.manyChannels;
  for (const name of ["raw-ws", "ws-hub"] as const)
    if (only.has(name))
      rows.pending(`T.${name}.many.${load.rate}`, name, manyChannels(channels, devices), load.rate);
  for (const name of TRANSPORTS) if (only.has(name)) rows.pending(`T.${name}.max`, name, MAX, null);
  for (const name of ["ws-hub", "pubnub-local"] as const)
    if (only.has(name)) rows.pending(`T.${name}.e2e`, name, E2E, null);
}

function packageVersion(path: string): string {
  try {
    const url = new URL(`../node_modules/${path}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export async function runTransports(options: {
  readonly quick: boolean;
  readonly seed: number;
  readonly only: ReadonlySet<TransportName>;
  readonly log: Log;
}): Promise<SuiteOutput> {
  const { log, only } = options;
  const plan = options.quick ? QUICK : FULL;
  const rows = new Rows();
  planned(rows, plan, only);
  const secret = newSecret();
  const started = performance.now();

  const hubOpen =
    (url: string): EndpointFactory =>
    async (clientId, userId) =>
      transportEndpoint(new WsTransport({ url, clientId, token: userToken(secret, userId).token }));
  const pubnubTransport = (origin: string, userId: string): PubNubTransport =>
    new PubNubTransport({
      origin,
      ssl: false,
      subscribeKey: "sub-c-bench",
      publishKey: "pub-c-bench",
      userId,
    });

  const attempt = async (prefix: string, what: string, body: () => Promise<void>): Promise<void> => {
    log(`T ${what}`);
    try {
      await body();
    } catch (error) {
      log(`  ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      rows.failed(prefix, error);
    }
  };

  for (const name of ["raw-ws", "ws-hub"] as const) {
    if (!only.has(name)) continue;
    await attempt(`T.${name}.`, name, () =>
      withServer(
        name,
        name,
        secret,
        (address) => (name === "raw-ws" ? () => rawEndpoint(address) : hubOpen(address)),
        async (section) => {
          await withFleet(
            () => oneChannelFleet(section.open),
            async (fleet) => {
              await measureLoads(section, fleet, plan.loads, plan, rows, log, ONE_CHANNEL, "one");
              await measureMax(section, fleet, plan, rows, log);
            },
            log,
          );
          const { channels, devices, load } = plan.manyChannels;
          await withFleet(
            () => manyChannelFleet(section.open, channels, devices),
            async (fleet) => {
              await measureLoads(
                section,
                fleet,
                [load],
                plan,
                rows,
                log,
                manyChannels(channels, devices),
                "many",
              );
            },
            log,
          );
          if (name === "ws-hub")
            await measureEndToEnd(
              name,
              (deviceId) =>
                new WsTransport({
                  url: section.server.address,
                  clientId: deviceId,
                  token: userToken(secret, BENCH_USER).token,
                }),
              plan,
              rows,
              log,
            );
        },
      ),
    );
  }

  if (only.has("pubnub-local"))
    await attempt("T.pubnub-local.", "pubnub-local (PubNub SDK → local emulator)", () =>
      withServer(
        "pubnub-local",
        "pubnub",
        secret,
        (origin) => async (clientId) => transportEndpoint(pubnubTransport(origin, clientId)),
        async (section) => {
          await withFleet(
            () => oneChannelFleet(section.open),
            async (fleet) => {
              await measureLoads(section, fleet, plan.pubnubLoads, plan, rows, log, ONE_CHANNEL, "one", () =>
                pubnubLoadsNote(plan.pubnubLoads),
              );
              await measureMax(section, fleet, plan, rows, log);
            },
            log,
          );
          await measureEndToEnd(
            "pubnub-local",
            (deviceId) => pubnubTransport(section.server.address, deviceId),
            plan,
            rows,
            log,
          );
        },
      ),
    );

  if (only.has("memory"))
    await attempt("T.memory.", "memory (simulated network, virtual time)", () =>
      measureMemory(plan, options.seed, rows, log),
    );

  const seconds = (performance.now() - started) / 1000;
  return {
    rows: [],
    footprints: [],
    transports: rows.all(),
    notes: [
      `Transports: ${payloadBytes()}-byte JSON payloads; servers in a worker thread, every client (and both ends of each latency stamp) on the main thread; 127.0.0.1; ws ${packageVersion("ws")}, pubnub SDK ${packageVersion("@mg-sync/transport-pubnub/node_modules/pubnub")}. Section time ${seconds.toFixed(0)} s.`,
    ],
  };
}
