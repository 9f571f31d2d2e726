/**
 * The household on `@mg-sync/transport-memory`: virtual time, the spec's own timings (30 s
 * heartbeats, 300 s in the background, 10 s progress throttle, 5 s commands), mild loss and
 * duplication so the scenarios hold under at-least-once delivery, and the sync channel's
 * history kept 5 minutes (spec 6.4's threshold) so a device away longer finds it trimmed.
 */
import { MemoryNetwork, type MemoryNetworkOptions } from "@mg-sync/transport-memory";
import { type DeviceName, PROFILES } from "./devices.js";
import { DeviceSlots, type Household, type HouseholdTiming, householdClient } from "./household.js";

export const MEMORY_TIMING: HouseholdTiming = {
  heartbeatIntervalSec: 30,
  backgroundHeartbeatIntervalSec: 300,
  progressThrottleMs: 10_000,
  commandTtlMs: 5_000,
  syncRetentionMs: 5 * 60_000,
  slackMs: 0,
  clockToleranceMs: 0,
};

export interface MemoryHouseholdOptions {
  readonly seed?: number;
  readonly network?: Omit<MemoryNetworkOptions, "seed" | "retention">;
}

export function memoryHousehold(
  options: MemoryHouseholdOptions = {},
): Household & { network: MemoryNetwork } {
  const timing = MEMORY_TIMING;
  const network = new MemoryNetwork({
    seed: options.seed ?? 20_241_206,
    latency: { minMs: 5, maxMs: 80 },
    lossRate: 0.05,
    duplicateRate: 0.1,
    ...options.network,
    retention: { "user.sync": { count: 100, durationMs: timing.syncRetentionMs } },
  });
  const slots = new DeviceSlots();

  const open = (name: DeviceName, snapshot?: unknown) => {
    const id = PROFILES[name].deviceId;
    return slots.open(name, network.client(id), network.scheduler, (transport, scheduler) =>
      householdClient(name, {
        transport,
        clock: network.clock(id),
        scheduler,
        random: network.randomFor(id),
        timing,
        snapshot,
      }),
    );
  };

  /** The settle loop of sync-client's tests: timers, the wire, and async client work. */
  const settle = async (): Promise<void> => {
    for (let round = 0; round < 3; round++) {
      await network.runFor(2_000);
      for (let step = 0; step < 1_000; step++) {
        await network.runUntilQuiet();
        await Promise.all(slots.live.map((c) => c.whenIdle()));
        if (network.inFlight() === 0) break;
      }
    }
  };

  return {
    name: "memory",
    timing,
    network,
    client: (name) => slots.client(name),
    deviceId: (name) => PROFILES[name].deviceId,
    transport: (name) => slots.transport(name),
    published: () => slots.log,
    now: (name) => network.clock(PROFILES[name].deviceId).now(),
    async start(...names) {
      const clients = names.map((name) => (slots.has(name) ? slots.client(name) : open(name)));
      await network.runUntilSettled(Promise.all(clients.map((c) => c.start())));
    },
    async stop(name) {
      await network.runUntilSettled(slots.client(name).stop());
    },
    async restart(name, restartOptions = {}) {
      await network.runUntilSettled(slots.kill(name).close());
      const client = open(name, restartOptions.snapshot);
      await network.runUntilSettled(client.start());
    },
    run: (promise) => network.runUntilSettled(promise),
    async until(what, condition, timeoutMs = 30 * 60_000) {
      const deadline = network.now() + timeoutMs;
      while (!condition()) {
        if (network.now() >= deadline) throw new Error(`${what}: still not true after ${timeoutMs} ms`);
        await network.runFor(50);
      }
    },
    wait: (ms) => network.runFor(ms),
    skipAhead: (ms) => network.runFor(ms),
    settle,
    cut: (name) => network.disconnect(PROFILES[name].deviceId),
    restore: (name) => network.reconnect(PROFILES[name].deviceId),
    async close() {
      // Nothing real to release: virtual timers die with the network.
    },
  };
}
