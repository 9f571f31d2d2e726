/**
 * What the WebSocket and PubNub setups share: real time, compressed timings so that the story
 * takes seconds, and waiting by polling. Cutting a device's network is each setup's own.
 */
import type { Transport } from "@mg-sync/crdt-core";
import { type SyncClient, systemRandom, systemScheduler } from "@mg-sync/sync-client";
import type { DeviceRuntime, Driver, Timing, TransportName } from "./driver.js";

/**
 * The story's durations, shrunk: 1 s heartbeats (offline after 2 s), every position report
 * published, 10 ms player ticks, a 300 ms command lifetime.
 */
export const REAL_TIME_TIMING: Timing = {
  client: {
    heartbeatIntervalSec: 1,
    backgroundHeartbeatIntervalSec: 10,
    progressThrottleMs: 0,
    reconciliationDelayMs: { min: 5, max: 60 },
    reconciliationWindowMs: 400,
    stopTimeoutMs: 2_000,
  },
  playerTickMs: 10,
  playerTickSec: 10,
  outageReports: 120,
  beatMs: 150,
  commandTtlMs: 300,
  partitionMs: 800,
  stepTimeoutMs: 10_000,
};

const POLL_MS = 5;
/** Quiet long enough for a reconciliation window to close. */
const QUIET_MS = 600;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export abstract class RealTimeDriver implements Driver {
  abstract readonly name: TransportName;
  abstract readonly description: string;
  abstract readonly userId: string;
  readonly virtualTime = false;
  readonly timing: Timing;
  readonly #start = performance.now();
  /** Devices cut off by `partition` (reconnected by `heal`). */
  #partitioned: readonly string[] = [];

  constructor(timing: Timing = REAL_TIME_TIMING) {
    this.timing = timing;
  }

  abstract transport(deviceId: string): Transport;
  abstract disconnect(deviceId: string): void;
  abstract reconnect(deviceId: string): void;
  abstract counters(): string | undefined;
  abstract close(): Promise<void>;

  elapsed(): number {
    return performance.now() - this.#start;
  }

  runtime(_deviceId: string, skewMs: number): DeviceRuntime {
    return {
      clock: { now: () => Date.now() + skewMs },
      scheduler: systemScheduler,
      // Real servers outlive a run: dots must never repeat across runs, so no seed here.
      random: systemRandom,
    };
  }

  wait(ms: number): Promise<void> {
    return sleep(ms);
  }

  async until(condition: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = performance.now() + maxMs;
    while (!condition()) {
      if (performance.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  drive<T>(promise: Promise<T>): Promise<T> {
    return promise;
  }

  async settle(clients: readonly SyncClient[]): Promise<void> {
    const deadline = performance.now() + this.timing.stepTimeoutMs;
    let quietSince: number | undefined;
    let seen = -1;
    while (performance.now() < deadline) {
      await Promise.all(clients.map((client) => client.whenIdle()));
      // Quiet: nothing queued to send and no state changed for QUIET_MS (heartbeats never stop).
      const merged = clients.reduce((sum, client) => sum + client.stats().merged, 0);
      const busy = merged !== seen || clients.some((client) => client.stats().outbox.queued > 0);
      seen = merged;
      const now = performance.now();
      if (busy) quietSince = undefined;
      else quietSince ??= now;
      if (quietSince !== undefined && now - quietSince >= QUIET_MS) return;
      await sleep(POLL_MS * 4);
    }
  }

  partition(isolated: readonly string[]): void {
    this.#partitioned = [...isolated];
    for (const deviceId of isolated) this.disconnect(deviceId);
  }

  heal(): void {
    for (const deviceId of this.#partitioned) this.reconnect(deviceId);
    this.#partitioned = [];
  }
}
