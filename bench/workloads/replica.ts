/**
 * W1 and W2 share one shape (issue 8 §1): three devices make updates locally, a fourth replica
 * applies all of them one message at a time, and the three device states are merged whole.
 * Each system implements `ReplicaSystem`; this runs the three measurements for each.
 */
import { measure } from "../harness.js";
import { interleave, type Stream, sliceStream, streamLength } from "../inputs.js";
import type { Footprint, Row, SuiteOutput, SystemName, SystemResult } from "../results.js";

export interface LocalRun<Shipped, State> {
  /** `shipped[d]`: what device d published, one item per update. */
  readonly shipped: Shipped[][];
  readonly states: State[];
}

export interface ReplicaSystem<Op, Shipped, State> {
  readonly name: SystemName;
  /** Every device runs its operations on its own replica and records what it publishes. */
  local(stream: Stream<Op>): LocalRun<Shipped, State>;
  /** A fresh fourth replica. */
  empty(): State;
  /** Applies the messages one at a time, in delivery order; returns the replica. */
  apply(replica: State, messages: readonly Shipped[]): State;
  /** Joins the three device states into one. */
  merge(states: readonly State[]): State;
  /** Bytes of the state's own encoding. */
  encodedBytes(state: State): number;
}

export interface ReplicaPlan {
  /** Delivered messages this system runs (default: all). */
  readonly slice?: number;
  readonly samples: number;
  /** Size of the untimed warm-up run (default: the whole slice). */
  readonly warmupOps?: number;
}

export interface ReplicaWorkload<Op> {
  readonly workload: "W1" | "W2";
  readonly title: string;
  readonly unit: string;
  readonly stream: Stream<Op>;
  /** Units of the merge measurement for a slice (the device states' entries). */
  readonly mergeEntries: (stream: Stream<Op>) => number;
  readonly stateName: string;
}

/** Per system, the final replica states kept for cross-checks (only the cheap ones are kept). */
export type Kept<State> = Partial<
  Record<SystemName, { apply: State; merge: State; local: LocalRun<unknown, State> }>
>;

export function runReplicaWorkload<Op>(
  workload: ReplicaWorkload<Op>,
  // Each system has its own message and state types; the runner only passes them through
  // (methods are bivariant, so every `ReplicaSystem<Op, M, S>` fits here).
  systems: readonly { system: ReplicaSystem<Op, unknown, unknown>; plan: ReplicaPlan; keep?: boolean }[],
  log: (line: string) => void,
): { output: SuiteOutput; kept: Kept<unknown> } {
  const total = streamLength(workload.stream);
  const local: Row = row(workload, "local", "local update (each device on its own replica)");
  const apply: Row = row(workload, "apply", "apply per message (4th replica, one message at a time)");
  const merge: Row = {
    ...row(workload, "merge", "full state merge (3 device states → 1)"),
    unit: "entry",
  };
  const footprints: Footprint[] = [];
  const kept: Kept<unknown> = {};

  for (const { system, plan, keep } of systems) {
    const n = Math.min(plan.slice ?? total, total);
    const stream = n === total ? workload.stream : sliceStream(workload.stream, n);
    const slice = n === total ? undefined : { ops: n, of: total };
    const withSlice = (t: SystemResult): SystemResult => (slice === undefined ? t : { ...t, slice });

    // Warm-up: the whole path once, on a smaller slice for the slow peers.
    const warm = sliceStream(workload.stream, Math.min(plan.warmupOps ?? n, n));
    const warmRun = system.local(warm);
    system.merge(warmRun.states);
    system.apply(system.empty(), interleave(warm, warmRun.shipped));

    let run: LocalRun<unknown, unknown> | undefined;
    const tLocal = measure({
      ops: n,
      samples: plan.samples,
      warmups: 0,
      setup: () => stream,
      run: (s) => system.local(s),
      inspect: (r) => {
        run = r;
      },
    });
    local.systems[system.name] = withSlice(tLocal);
    const messages = interleave(stream, run!.shipped);

    let replica: unknown;
    let encoded = 0;
    const tApply = measure({
      memory: true,
      ops: n,
      samples: plan.samples,
      warmups: 0,
      setup: () => system.empty(),
      run: (r) => system.apply(r, messages),
      inspect: (r) => {
        replica = r;
        encoded = system.encodedBytes(r);
      },
    });
    apply.systems[system.name] = withSlice(tApply);
    footprints.push({
      workload: workload.workload,
      system: system.name,
      what: `${workload.stateName}, 4th replica after applying ${n.toLocaleString("en-US")} messages`,
      heapBytes: tApply.retainedBytes,
      encodedBytes: encoded,
      ...(slice === undefined ? {} : { slice }),
    });

    let merged: unknown;
    const states = run!.states;
    const tMerge = measure({
      ops: workload.mergeEntries(stream),
      samples: plan.samples,
      warmups: 0,
      setup: () => states,
      run: (s) => system.merge(s),
      inspect: (r) => {
        merged = r;
      },
    });
    merge.systems[system.name] = withSlice(tMerge);
    if (keep === true) kept[system.name] = { apply: replica, merge: merged, local: run! };
    log(
      `  ${workload.workload} ${system.name.padEnd(9)} local ${fmt(tLocal.medianOpsPerSec)}/s  apply ${fmt(
        tApply.medianOpsPerSec,
      )}/s  merge ${tMerge.medianMs.toFixed(1)} ms${slice === undefined ? "" : `  (slice ${n} of ${total})`}`,
    );
  }
  return { output: { rows: [local, apply, merge], footprints, notes: [] }, kept };
}

function row(
  workload: Pick<ReplicaWorkload<unknown>, "workload" | "title" | "unit">,
  key: string,
  measure: string,
): Row {
  return {
    id: `${workload.workload}.${key}`,
    workload: `${workload.workload} ${workload.title}`,
    measure,
    unit: workload.unit,
    systems: {},
  };
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}
