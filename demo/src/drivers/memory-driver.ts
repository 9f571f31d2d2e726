/**
 * The embedded default: `@mg-sync/transport-memory`'s seeded network on virtual time. Same seed,
 * same run, byte for byte; twenty simulated minutes take well under a second.
 */
import type { Transport } from "@mg-sync/crdt-core";
import type { SyncClient } from "@mg-sync/sync-client";
import { MemoryNetwork } from "@mg-sync/transport-memory";
import type { DeviceRuntime, Driver, Timing } from "./driver.js";

/** Spec timings (5.2, 6.2, 6.3, 8.2) at full length: time costs nothing here. */
const VIRTUAL_TIMING: Timing = {
  client: {},
  playerTickMs: 5_000,
  playerTickSec: 5,
  // 240 reports 5 s apart, published at most every 10 s: 120 messages on user.{id}.sync,
  // more than the 100 its history keeps (spec 9.1).
  outageReports: 240,
  beatMs: 2_000,
  commandTtlMs: 5_000,
  partitionMs: 20_000,
  stepTimeoutMs: 120_000,
};

/** Background faults on every hop (resent when lost, so delivery stays at-least-once). */
export const MEMORY_LOSS_RATE = 0.02;
export const MEMORY_DUPLICATE_RATE = 0.02;

/** How finely `until` steps virtual time: observations themselves are timed exactly. */
const STEP_MS = 5;

export class MemoryDriver implements Driver {
  readonly name = "memory";
  readonly virtualTime = true;
  readonly timing = VIRTUAL_TIMING;
  readonly userId = "alice";
  readonly description: string;
  readonly network: MemoryNetwork;
  readonly #start: number;
  readonly #transports: Transport[] = [];

  constructor(seed: number, options: { readonly faults?: boolean } = {}) {
    const faults = options.faults ?? true;
    this.network = new MemoryNetwork({
      seed,
      latency: { minMs: 10, maxMs: 40 },
      lossRate: faults ? MEMORY_LOSS_RATE : 0,
      duplicateRate: faults ? MEMORY_DUPLICATE_RATE : 0,
      // The trace is kept for tests; a long run does not need its lines.
      recordTrace: false,
    });
    this.#start = this.network.now();
    this.description = faults
      ? `memory network, virtual time, seed ${seed}: 10–40 ms per hop, ${MEMORY_LOSS_RATE * 100} % of hops lost (and resent), ${MEMORY_DUPLICATE_RATE * 100} % of deliveries duplicated`
      : `memory network, virtual time, seed ${seed}: 10–40 ms per hop`;
  }

  elapsed(): number {
    return this.network.now() - this.#start;
  }

  transport(deviceId: string): Transport {
    const transport = this.network.client(deviceId);
    this.#transports.push(transport);
    return transport;
  }

  runtime(deviceId: string, skewMs: number): DeviceRuntime {
    if (skewMs !== 0) this.network.setSkew(deviceId, skewMs);
    return {
      clock: this.network.clock(deviceId),
      scheduler: this.network.scheduler,
      random: this.network.randomFor(deviceId),
    };
  }

  async wait(ms: number): Promise<void> {
    await this.network.runFor(ms);
  }

  async until(condition: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = this.network.now() + maxMs;
    while (!condition()) {
      const left = deadline - this.network.now();
      if (left <= 0) return false;
      await this.network.runFor(Math.min(STEP_MS, left));
    }
    return true;
  }

  drive<T>(promise: Promise<T>): Promise<T> {
    return this.network.runUntilSettled(promise);
  }

  async settle(clients: readonly SyncClient[]): Promise<void> {
    // Reconciliation answers wait a random delay, and a requester compares the answers after
    // its window (3.3 s by default): timers, which `runUntilQuiet` alone does not wait for.
    for (let round = 0; round < 3; round++) {
      await this.network.runFor(2_000);
      await this.network.runUntilQuiet();
      await Promise.all(clients.map((client) => client.whenIdle()));
    }
  }

  partition(isolated: readonly string[]): void {
    this.network.partition([[], isolated]);
  }

  heal(): void {
    this.network.heal();
  }

  disconnect(deviceId: string): void {
    this.network.disconnect(deviceId);
  }

  reconnect(deviceId: string): void {
    this.network.reconnect(deviceId);
  }

  counters(): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.network.runUntilSettled(Promise.all(this.#transports.map((t) => t.close())));
  }
}
