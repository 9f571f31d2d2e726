/**
 * Section 3 of issue 8: transport benchmarks. NOT MEASURED YET: the CRDT workloads came first,
 * and the transports (transport-memory, transport-ws, transport-pubnub) were landing while they
 * were written. This file is where they go; `run.ts` already calls `runTransports` (suite id
 * `T`) and the report already prints its table, so adding a transport means adding a scenario
 * runner here (and the package to bench's devDependencies) and nothing else.
 *
 * Each planned scenario below becomes a `TransportRow` (results.ts). How to measure, when the
 * transports land:
 *   - latency: stamp `performance.now()` (or `process.hrtime.bigint()`) into each publish, read
 *     it on receive in the same process, collect every sample, report p50 / p99 / p99.9 at a
 *     fixed offered load (a paced publisher, not a burst), after a warm-up second;
 *   - throughput: 1 publisher → 10 subscribers, raise the rate until delivery falls behind;
 *   - every scenario also runs against `raw-ws` (a `ws` server that only fans out) in the same
 *     run, as the ceiling (target: the hub ≥ 50 % of it, p99 < 5 ms at 10 000 msg/s);
 *   - loopback only, bounded in time and message count.
 */
import type { SuiteOutput, TransportRow } from "../results.js";

interface PlannedScenario {
  readonly transport: string;
  readonly scenario: string;
  readonly offeredMsgPerSec: number | null;
}

const OFFERED = [1_000, 10_000, 50_000];

export const PLANNED_SCENARIOS: readonly PlannedScenario[] = [
  ...["raw-ws", "ws-hub", "memory", "pubnub-local"].flatMap((transport) =>
    OFFERED.map((offeredMsgPerSec) => ({
      transport,
      scenario: "publish → receive, 10 subscribers on one user channel",
      offeredMsgPerSec,
    })),
  ),
  ...["raw-ws", "ws-hub"].map((transport) => ({
    transport,
    scenario: "1 000 channels × 3 devices",
    offeredMsgPerSec: 10_000,
  })),
  ...["raw-ws", "ws-hub", "memory", "pubnub-local"].map((transport) => ({
    transport,
    scenario: "max sustained throughput, 1 publisher → 10 subscribers",
    offeredMsgPerSec: null,
  })),
  {
    transport: "ws-hub",
    scenario: "end-to-end sync (spec 10.1): A's change → B's state",
    offeredMsgPerSec: null,
  },
];

/** Returns one pending row per planned scenario until the transports exist. */
export function runTransports(): SuiteOutput {
  const transports: TransportRow[] = PLANNED_SCENARIOS.map((s, i) => ({
    id: `T.${i}`,
    transport: s.transport,
    scenario: s.scenario,
    offeredMsgPerSec: s.offeredMsgPerSec,
    p50Ms: null,
    p99Ms: null,
    p999Ms: null,
    sustainedMsgPerSec: null,
  }));
  return {
    rows: [],
    footprints: [],
    transports,
    notes: ["Transports (issue 8 §3): not measured yet; the rows are the planned scenarios."],
  };
}
