/** The shape of `results/latest.json`: what `report.ts` prints and `compare.ts` compares. */
import type { Environment, Timing } from "./harness.js";

export type SystemName = "mg-sync" | "yjs" | "automerge" | "baseline";
export const SYSTEMS: readonly SystemName[] = ["mg-sync", "yjs", "automerge", "baseline"];

export interface SystemResult extends Timing {
  /** Set when the system ran a smaller slice than the workload (issue 8 §2: too slow for 60 s). */
  readonly slice?: { readonly ops: number; readonly of: number };
}

/** One measurement of one workload, every system that ran it side by side. */
export interface Row {
  /** Stable key for `compare.ts`, e.g. `W1.apply`. */
  readonly id: string;
  readonly workload: string;
  readonly measure: string;
  /** What one op is (`update`, `message`, `entry`, `title`, `tick`). */
  readonly unit: string;
  /** What the baseline column holds in this row, when not the hand-written plain-JS code. */
  readonly baselineIs?: string;
  readonly systems: Partial<Record<SystemName, SystemResult>>;
}

/** Memory and encoded size of the state a workload ends with, per system. */
export interface Footprint {
  readonly workload: string;
  readonly system: SystemName;
  /** What state was measured. */
  readonly what: string;
  /** JS heap + external growth with the state alive, after GC (null: not measured). */
  readonly heapBytes: number | null;
  /** Bytes of the state's encoding (JSON snapshot, Yjs update, Automerge save, chunks …). */
  readonly encodedBytes: number | null;
  readonly slice?: { readonly ops: number; readonly of: number };
}

/** The transports of section 3, in report order; `raw-ws` is the ceiling. */
export const TRANSPORTS = ["raw-ws", "ws-hub", "pubnub-local", "memory"] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/**
 * Section 3 of issue 8 (transports): publish → receive latency percentiles at an offered load,
 * and sustained throughput, per transport, in the same run as a raw `ws` broadcast ceiling.
 * A row without `measured` is a planned scenario that did not run (printed as pending).
 */
export interface TransportRow {
  readonly id: string;
  /** `ws-hub`, `memory`, `pubnub-local`, `raw-ws` (the ceiling). */
  readonly transport: string;
  readonly scenario: string;
  readonly offeredMsgPerSec: number | null;
  /** Latency percentiles, ms; null when not measured, or when beyond the drain window (`measured.missing`). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
  /**
   * Messages per second that reached every subscriber: at the offered load for a latency row,
   * the maximum for a throughput row; for the memory transport, per wall-clock second.
   */
  readonly sustainedMsgPerSec: number | null;
  readonly measured?: TransportMeasurement;
}

export interface TransportMeasurement {
  /** `virtual`: the memory network's simulated milliseconds, not elapsed time. */
  readonly clock: "wall" | "virtual";
  readonly maxMs: number | null;
  /** Messages measured (after the warm-up) and the latency samples they gave (× receivers). */
  readonly messages: number;
  readonly samples: number;
  /** Share of expected receipts not there when the drain window closed (counted as +∞). */
  readonly missing: number;
  /** How long stragglers were awaited after the last scheduled send, ms. */
  readonly drainMs: number | null;
  /** p99 of how late the paced publisher handed messages over (included in the latency). */
  readonly sendLagP99Ms?: number;
  /** Throughput rows: the lowest and highest rate of the measured slices (the row shows their median). */
  readonly rangeMsgPerSec?: readonly [number, number];
  /** Event-loop utilisation (0..1) of the server thread and of the clients' thread. */
  readonly serverBusy?: number;
  readonly clientBusy?: number;
  /** Publish rejections by code during the row (`queue_full`, …). */
  readonly publishErrors?: Readonly<Record<string, number>>;
  /** What the reader must know about this row (printed as a footnote). */
  readonly note?: string;
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean;
}

export interface BenchResult {
  readonly env: Environment;
  readonly config: Readonly<Record<string, unknown>>;
  readonly rows: Row[];
  readonly footprints: Footprint[];
  readonly transports: TransportRow[];
  readonly targets: TargetCheck[];
  readonly notes: string[];
  readonly totalSeconds: number;
}

/** What every workload module returns. */
export interface SuiteOutput {
  readonly rows: Row[];
  readonly footprints: Footprint[];
  readonly transports?: TransportRow[];
  readonly notes: string[];
}
