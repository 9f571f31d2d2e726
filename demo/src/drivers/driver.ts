/**
 * What the demo needs from a transport setup: transports and runtimes for devices, a way to let
 * time pass (virtual on the memory network, real over WebSocket and PubNub), and the faults it
 * injects (partitions, a device losing its network). The story and the scale-up run are written
 * once against this interface.
 */
import type { Clock, Random, Scheduler, Transport } from "@mg-sync/crdt-core";
import type { SyncClient, SyncClientOptions } from "@mg-sync/sync-client";

export type TransportName = "memory" | "ws" | "pubnub";

/** Durations that differ between a virtual-time run and a short real-time one. */
export interface Timing {
  /** Client options that scale the client's timers to the run. */
  readonly client: Pick<
    Partial<SyncClientOptions>,
    | "heartbeatIntervalSec"
    | "backgroundHeartbeatIntervalSec"
    | "progressThrottleMs"
    | "reconciliationDelayMs"
    | "reconciliationWindowMs"
    | "stopTimeoutMs"
  >;
  /** Between two position reports of a playing player. */
  readonly playerTickMs: number;
  /** Content seconds a player advances per report. */
  readonly playerTickSec: number;
  /** Position reports the TV makes while the web client is offline (more than history keeps). */
  readonly outageReports: number;
  /** A pause between two steps of the story. */
  readonly beatMs: number;
  /** Lifetime of the command that expires while its target is partitioned. */
  readonly commandTtlMs: number;
  /** How long the TV stays partitioned away (longer than `commandTtlMs`). */
  readonly partitionMs: number;
  /** Longest wait for one step's effects to reach every device. */
  readonly stepTimeoutMs: number;
}

export interface DeviceRuntime {
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
}

export interface Driver {
  readonly name: TransportName;
  /** One line for the header: what carries the messages. */
  readonly description: string;
  /** Virtual time (memory) replays exactly; real time does not. */
  readonly virtualTime: boolean;
  readonly timing: Timing;
  /** The user whose channels the run uses (unique per run on real PubNub). */
  readonly userId: string;
  /** Milliseconds since the run started (virtual or real). */
  elapsed(): number;
  /** Opens `deviceId`'s transport (its id is the device id). */
  transport(deviceId: string): Transport;
  /** Clock (skewed by `skewMs`), timers and randomness for a device. */
  runtime(deviceId: string, skewMs: number): DeviceRuntime;
  /** Lets `ms` pass. */
  wait(ms: number): Promise<void>;
  /** Lets time pass until `condition()` holds or `maxMs` passed; says whether it holds. */
  until(condition: () => boolean, maxMs: number): Promise<boolean>;
  /** Awaits a promise whose settling needs time to pass (virtual time moves only when driven). */
  drive<T>(promise: Promise<T>): Promise<T>;
  /** Lets everything in flight land: deliveries, retries, reconciliation answers. */
  settle(clients: readonly SyncClient[]): Promise<void>;
  /** Cuts `isolated` off from everyone else (and the server) until `heal()`. */
  partition(isolated: readonly string[]): void;
  heal(): void;
  /** One device loses its network (ungracefully: no leave) until `reconnect`. */
  disconnect(deviceId: string): void;
  reconnect(deviceId: string): void;
  /** Network-level counters, if the setup keeps any (added to the throughput line). */
  counters(): string | undefined;
  /** Closes every transport and stops every server it started. */
  close(): Promise<void>;
}
