/**
 * The household over a real server on 127.0.0.1 (the WebSocket hub, the PubNub emulator):
 * real sockets, real timers, each device behind its own `CuttableProxy` so one device's network
 * can be cut and restored while the others stay connected.
 *
 * Time: every device clock and the server's clock read `Date.now() + offset`, one offset for
 * all, so `skipAhead` makes "6 minutes later" true for every clock at once (history ages,
 * retention trims) without waiting; timers keep their real delays. Intervals are short (1 s
 * heartbeats, 2 s in the background, 400 ms progress throttle, 300 ms commands) so the spec's
 * timing rules are exercised in seconds; the sync channel still keeps 5 minutes of history.
 * Every wait is bounded; `close()` stops every client, proxy and the server.
 */
import type { ChannelRetention, Clock, Transport } from "@mg-sync/crdt-core";
import { type SyncClient, systemRandom, systemScheduler } from "@mg-sync/sync-client";
import { CuttableProxy } from "./cuttable-proxy.js";
import { DEVICE_NAMES, type DeviceName, PROFILES, SYNC_CHANNEL } from "./devices.js";
import { DeviceSlots, type Household, type HouseholdTiming, householdClient } from "./household.js";

export const REAL_TIME_TIMING: HouseholdTiming = {
  heartbeatIntervalSec: 1,
  backgroundHeartbeatIntervalSec: 2,
  progressThrottleMs: 400,
  commandTtlMs: 300,
  syncRetentionMs: 5 * 60_000,
  slackMs: 750,
  clockToleranceMs: 5,
};

export interface ServerContext {
  /** The household's clock: give it to the server (timetokens, retention, presence). */
  readonly now: () => number;
  /** History retention per channel: the sync channel keeps `timing.syncRetentionMs`. */
  readonly retention: (channel: string) => ChannelRetention | undefined;
  readonly timing: HouseholdTiming;
}

/** What a test can do to the server itself. */
export interface ServerFaults {
  /**
   * The server stops (its connections end) and starts again on the same port after
   * `downtimeMs`; whether it keeps its history is the server's own (the hub's in-memory stores
   * do not, the PubNub emulator does).
   */
  restart(downtimeMs: number): Promise<void>;
  /**
   * The next `count` requests of any device are answered with HTTP `status` (HTTP servers only);
   * returns how many requests it has hit so far.
   */
  readonly failRequests?: (count: number, status: 500 | 429) => () => number;
}

export interface RealTimeServer extends ServerFaults {
  readonly host: string;
  readonly port: number;
  /** A transport for `deviceId` that reaches the server at `address` (the device's proxy). */
  openTransport(deviceId: string, address: { readonly host: string; readonly port: number }): Transport;
  /** Real time the server's periodic work (history sweeps) needs to notice a clock jump. */
  readonly sweepMs: number;
  stop(): Promise<void>;
}

export interface RealTimeHouseholdOptions {
  readonly name: string;
  startServer(context: ServerContext): Promise<RealTimeServer>;
  readonly timing?: Partial<HouseholdTiming>;
  /** Default bound of `until`, in ms. */
  readonly untilTimeoutMs?: number;
}

/** No timer may hold a test open for longer than this. */
const MAX_WAIT_MS = 20_000;
const POLL_MS = 10;
/** `settle`: nothing received, published or queued anywhere for this long. */
const QUIET_MS = 400;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function realTimeHousehold(
  options: RealTimeHouseholdOptions,
): Promise<Household & { readonly faults: ServerFaults }> {
  const timing: HouseholdTiming = { ...REAL_TIME_TIMING, ...options.timing };
  let offsetMs = 0;
  const now = (): number => Date.now() + offsetMs;
  const clock: Clock = { now };
  const syncRetention: ChannelRetention = { count: 100, durationMs: timing.syncRetentionMs };
  const server = await options.startServer({
    now,
    retention: (channel) => (channel === SYNC_CHANNEL ? syncRetention : undefined),
    timing,
  });
  const proxies = new Map<DeviceName, CuttableProxy>();
  try {
    for (const name of DEVICE_NAMES) {
      proxies.set(name, await CuttableProxy.start({ host: server.host, port: server.port }));
    }
  } catch (error) {
    for (const proxy of proxies.values()) await proxy.close();
    await server.stop();
    throw error;
  }
  const proxy = (name: DeviceName): CuttableProxy => proxies.get(name)!;
  const slots = new DeviceSlots();
  const transports: Transport[] = [];

  const open = (name: DeviceName, snapshot?: unknown): SyncClient => {
    const inner = server.openTransport(PROFILES[name].deviceId, {
      host: "127.0.0.1",
      port: proxy(name).port,
    });
    transports.push(inner);
    return slots.open(name, inner, systemScheduler, (transport, scheduler) =>
      householdClient(name, {
        transport,
        clock,
        scheduler,
        random: systemRandom,
        timing,
        snapshot,
        extra: {
          // Answer within 100 ms and push back after 600 ms: the spec's 500 ms p99 on loopback.
          reconciliationDelayMs: { min: 10, max: 100 },
          reconciliationWindowMs: 600,
          stopTimeoutMs: 2_000,
        },
      }),
    );
  };

  const running = (): SyncClient[] =>
    slots.live.filter((c) => c.phase === "running" || c.phase === "starting");

  const activity = (): string =>
    JSON.stringify(
      running().map((c) => {
        const s = c.stats();
        const cut = DEVICE_NAMES.some((n) => PROFILES[n].deviceId === c.deviceId && proxy(n).isCut);
        return [s.received, s.outbox.published, cut ? 0 : s.outbox.queued, s.reconciliation.chunksSent];
      }),
    );

  const faults: ServerFaults = {
    restart: (downtimeMs) => within(server.restart(downtimeMs), MAX_WAIT_MS, "restarting the server"),
    ...(server.failRequests === undefined ? {} : { failRequests: server.failRequests }),
  };

  return {
    name: options.name,
    timing,
    faults,
    client: (name) => slots.client(name),
    deviceId: (name) => PROFILES[name].deviceId,
    transport: (name) => slots.transport(name),
    published: () => slots.log,
    now: () => now(),
    async start(...names) {
      const clients = names.map((name) => (slots.has(name) ? slots.client(name) : open(name)));
      await within(Promise.all(clients.map((c) => c.start())), MAX_WAIT_MS, `starting ${names.join(", ")}`);
    },
    async stop(name) {
      await within(slots.client(name).stop(), MAX_WAIT_MS, `stopping ${name}`);
    },
    async restart(name, restartOptions = {}) {
      await within(slots.kill(name).close(), MAX_WAIT_MS, `closing ${name}'s transport`);
      const client = open(name, restartOptions.snapshot);
      await within(client.start(), MAX_WAIT_MS, `restarting ${name}`);
    },
    run: (promise) => within(promise, MAX_WAIT_MS, "a call"),
    async until(what, condition, timeoutMs = options.untilTimeoutMs ?? 10_000) {
      const deadline = Date.now() + Math.min(timeoutMs, MAX_WAIT_MS);
      while (!condition()) {
        if (Date.now() >= deadline) throw new Error(`${what}: still not true after ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
    },
    wait: (ms) => sleep(ms),
    async skipAhead(ms) {
      offsetMs += ms;
      await sleep(server.sweepMs);
    },
    async settle() {
      const deadline = Date.now() + MAX_WAIT_MS;
      let last = activity();
      let quietSince = Date.now();
      while (Date.now() - quietSince < QUIET_MS) {
        if (Date.now() >= deadline) throw new Error(`settle: still busy after ${MAX_WAIT_MS} ms: ${last}`);
        await sleep(POLL_MS);
        await within(Promise.all(running().map((c) => c.whenIdle())), MAX_WAIT_MS, "whenIdle");
        const current = activity();
        const queued = running().some(
          (c) =>
            c.stats().outbox.queued > 0 &&
            !DEVICE_NAMES.some((n) => PROFILES[n].deviceId === c.deviceId && proxy(n).isCut),
        );
        if (current !== last || queued) {
          last = current;
          quietSince = Date.now();
        }
      }
    },
    cut: (name) => proxy(name).cut(),
    restore: (name) => proxy(name).restore(),
    async close() {
      for (const p of proxies.values()) p.restore();
      await Promise.allSettled(running().map((c) => within(c.stop(), 5_000, "stop")));
      await Promise.allSettled(transports.map((t) => within(t.close(), 5_000, "close")));
      for (const p of proxies.values()) await p.close();
      await server.stop();
    },
  };
}
