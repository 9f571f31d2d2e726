/**
 * The household the spec's scenarios are written against: three devices of one user (phone,
 * TV, web), a way to let time pass, to wait for something to become true, to cut and restore
 * one device's network, and each device's clock. One scenario text, three worlds:
 *
 * - memory (`memory-household.ts`): the seeded simulated network on virtual time, spec timings
 *   (30 s heartbeats, 10 s progress throttle), every run replayable from its seed;
 * - real sockets (`real-time-household.ts`): the WebSocket hub or the PubNub emulator on
 *   127.0.0.1, each device behind its own cuttable TCP proxy, real time with short intervals.
 *
 * Scenarios never read the wall clock or sleep themselves: time is the household's.
 */
import type { Clock, Random, Scheduler, Transport } from "@mg-sync/crdt-core";
import { createSyncClient, type SyncClient, type SyncClientOptions } from "@mg-sync/sync-client";
import { type DeviceName, PROFILES, USER } from "./devices.js";
import { type PublishRecord, type RecordingTransport, recording } from "./recording-transport.js";

export interface HouseholdTiming {
  /** Foreground heartbeat interval every device announces (spec 8.1: 30 s). */
  readonly heartbeatIntervalSec: number;
  /** Background heartbeat interval (spec 8.2: 300 s). */
  readonly backgroundHeartbeatIntervalSec: number;
  /** At most one progress message per title per this many ms (spec 5.2: 10 s). */
  readonly progressThrottleMs: number;
  /** Lifetime of the commands the 6.3 scenarios send (spec 3.4's default: 5 s). */
  readonly commandTtlMs: number;
  /** Age retention of `user.{id}.sync` history in this household (6.4 needs it short). */
  readonly syncRetentionMs: number;
  /**
   * How far past a deadline an effect may be observed: 0 on virtual time; on real time the
   * scheduling and loopback jitter of a loaded 2-core machine.
   */
  readonly slackMs: number;
  /** How early a real timer may fire relative to the wall clock (0 on virtual time). */
  readonly clockToleranceMs: number;
}

export interface Household {
  /** "memory", "ws hub", "pubnub emulator". */
  readonly name: string;
  readonly timing: HouseholdTiming;
  /** The device's current client (a restart replaces it). Throws before the device started. */
  client(name: DeviceName): SyncClient;
  deviceId(name: DeviceName): string;
  /** The device's current transport, recording what it publishes. */
  transport(name: DeviceName): RecordingTransport;
  /** Every publish of every device, in call order, across restarts. */
  published(): readonly PublishRecord[];
  /** The device's wall clock, in ms. */
  now(name: DeviceName): number;
  /** Creates (if needed) and starts these devices, waiting until each start has finished. */
  start(...names: DeviceName[]): Promise<void>;
  /** Graceful stop (spec 8.2 "app closed"): flush, `device_leave`, leave presence, unsubscribe. */
  stop(name: DeviceName): Promise<void>;
  /**
   * A new client for a device whose previous one stopped or died, over a new connection,
   * optionally restored from a snapshot; started.
   */
  restart(name: DeviceName, options?: { readonly snapshot?: unknown }): Promise<void>;
  /** Waits for a promise that needs the network (on virtual time, drives the network meanwhile). */
  run<T>(promise: Promise<T>): Promise<T>;
  /** Lets time pass until `condition` holds; fails naming `what` after `timeoutMs` of household time. */
  until(what: string, condition: () => boolean, timeoutMs?: number): Promise<void>;
  /** Lets `ms` of time pass: timers fire, messages travel. */
  wait(ms: number): Promise<void>;
  /**
   * Moves every clock (devices and server) `ms` forward: on virtual time, `ms` simply pass; on
   * real time the clocks jump (timers keep their real delays), so "6 minutes later" takes no
   * six minutes.
   */
  skipAhead(ms: number): Promise<void>;
  /** Waits until nothing is in flight: deliveries, retries, reconciliation answers. */
  settle(): Promise<void>;
  /** The device loses its network (no goodbye: the server is left to time it out). */
  cut(name: DeviceName): void;
  restore(name: DeviceName): void;
  /** Stops every client still running (without goodbyes) and shuts the server down. */
  close(): Promise<void>;
}

export interface ClientRuntime {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly timing: HouseholdTiming;
  readonly snapshot?: unknown;
  /** Extra options (reconciliation delays on real time). */
  readonly extra?: Partial<SyncClientOptions>;
}

/** A client of the household's user for `name`, with the household's timings. */
export function householdClient(name: DeviceName, runtime: ClientRuntime): SyncClient {
  const profile = PROFILES[name];
  return createSyncClient({
    userId: USER,
    deviceId: profile.deviceId,
    deviceType: profile.deviceType,
    platform: profile.platform,
    capabilities: profile.capabilities,
    appVersion: "1.2.3",
    transport: runtime.transport,
    clock: runtime.clock,
    scheduler: runtime.scheduler,
    random: runtime.random,
    heartbeatIntervalSec: runtime.timing.heartbeatIntervalSec,
    backgroundHeartbeatIntervalSec: runtime.timing.backgroundHeartbeatIntervalSec,
    progressThrottleMs: runtime.timing.progressThrottleMs,
    commandTtlMs: runtime.timing.commandTtlMs,
    ...runtime.extra,
    ...(runtime.snapshot === undefined ? {} : { snapshot: runtime.snapshot }),
  });
}

/**
 * A scheduler a device's app can die with: `kill()` cancels every pending timer and makes later
 * ones no-ops, as a killed process's timers are gone. A dead client stays in memory (the test
 * still holds it) but can never act again, so it cannot keep a run busy or publish behind the
 * new client's back.
 */
export function killableScheduler(base: Scheduler): { readonly scheduler: Scheduler; kill(): void } {
  const pending = new Set<() => void>();
  let dead = false;
  return {
    scheduler: {
      schedule(delayMs, callback) {
        if (dead) return () => {};
        const cancel = base.schedule(delayMs, () => {
          pending.delete(cancel);
          if (!dead) callback();
        });
        pending.add(cancel);
        return () => {
          pending.delete(cancel);
          cancel();
        };
      },
    },
    kill() {
      dead = true;
      for (const cancel of pending) cancel();
      pending.clear();
    },
  };
}

/**
 * Book-keeping every household shares: the current client and transport of each device, and
 * the household-wide publish log.
 */
export class DeviceSlots {
  readonly log: PublishRecord[] = [];
  readonly #clients = new Map<DeviceName, SyncClient>();
  readonly #transports = new Map<DeviceName, RecordingTransport>();
  readonly #kills = new Map<SyncClient, () => void>();

  has(name: DeviceName): boolean {
    return this.#clients.has(name);
  }

  client(name: DeviceName): SyncClient {
    const client = this.#clients.get(name);
    if (client === undefined) throw new Error(`${name} has not been started in this household`);
    return client;
  }

  transport(name: DeviceName): RecordingTransport {
    const transport = this.#transports.get(name);
    if (transport === undefined) throw new Error(`${name} has no transport yet`);
    return transport;
  }

  /** Every client made and not killed (stopped ones included), so `close` can stop the rest. */
  get live(): SyncClient[] {
    return [...this.#kills.keys()];
  }

  /**
   * Wraps `inner` in a recorder and makes a client over it whose timers run on `scheduler` until
   * the device is killed.
   */
  open(
    name: DeviceName,
    inner: Transport,
    scheduler: Scheduler,
    make: (transport: Transport, scheduler: Scheduler) => SyncClient,
  ): SyncClient {
    const transport = recording(inner, this.log);
    const timers = killableScheduler(scheduler);
    const client = make(transport, timers.scheduler);
    this.#transports.set(name, transport);
    this.#clients.set(name, client);
    this.#kills.set(client, timers.kill);
    return client;
  }

  /**
   * The device's app dies: its client's timers are gone and it is dropped from `live`; returns
   * its transport, whose connection the caller drops (the server is left to notice).
   */
  kill(name: DeviceName): RecordingTransport {
    const client = this.client(name);
    this.#kills.get(client)?.();
    this.#kills.delete(client);
    return this.transport(name);
  }
}
