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

/**
 * Section 3 of issue 8 (transports), filled in as the transports land: publish → receive
 * latency percentiles at an offered load, and sustained throughput, per transport, in the same
 * run as a raw `ws` broadcast ceiling.
 */
export interface TransportRow {
  readonly id: string;
  /** `ws-hub`, `memory`, `pubnub-local`, `raw-ws` (the ceiling). */
  readonly transport: string;
  readonly scenario: string;
  readonly offeredMsgPerSec: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly p999Ms: number | null;
  readonly sustainedMsgPerSec: number | null;
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
