/**
 * W5 HLC (issue 8 §1): `hlcTick` and `hlcReceive` per second, against the same arithmetic
 * without argument or drift checks (plain-hlc.ts). Yjs and Automerge use Lamport clocks inside
 * their updates and expose no clock to measure.
 */
import { hlcReceive, hlcTick } from "../core-api.js";
import { measure } from "../harness.js";
import type { Row, SuiteOutput } from "../results.js";
import { plainReceive, plainTick } from "./plain-hlc.js";

export function runHlc(
  inputs: { phys: Float64Array; remote: Float64Array },
  samples: number,
  log: (line: string) => void,
): SuiteOutput {
  const { phys, remote } = inputs;
  const ops = phys.length;
  const common = { ops, samples, warmups: 1, setup: () => inputs };
  const tick = measure({
    ...common,
    run: () => {
      let clock = 0;
      for (let i = 0; i < ops; i++) clock = hlcTick(clock, phys[i]!);
      return clock;
    },
  });
  const tickPlain = measure({
    ...common,
    run: () => {
      let clock = 0;
      for (let i = 0; i < ops; i++) clock = plainTick(clock, phys[i]!);
      return clock;
    },
  });
  const receive = measure({
    ...common,
    run: () => {
      let clock = 0;
      for (let i = 0; i < ops; i++) clock = hlcReceive(clock, remote[i]!, phys[i]!);
      return clock;
    },
  });
  const receivePlain = measure({
    ...common,
    run: () => {
      let clock = 0;
      for (let i = 0; i < ops; i++) clock = plainReceive(clock, remote[i]!, phys[i]!);
      return clock;
    },
  });
  // The two implementations must agree, or the comparison means nothing.
  let a = 0;
  let b = 0;
  for (let i = 0; i < Math.min(ops, 100_000); i++) {
    a = hlcReceive(hlcTick(a, phys[i]!), remote[i]!, phys[i]!);
    b = plainReceive(plainTick(b, phys[i]!), remote[i]!, phys[i]!);
    if (a !== b) throw new Error(`W5: plain HLC disagrees with the core at ${i}: ${a} vs ${b}`);
  }
  log(
    `  W5 tick ${(tick.medianOpsPerSec / 1e6).toFixed(1)}M/s (plain ${(tickPlain.medianOpsPerSec / 1e6).toFixed(1)}M/s)  receive ${(receive.medianOpsPerSec / 1e6).toFixed(1)}M/s (plain ${(receivePlain.medianOpsPerSec / 1e6).toFixed(1)}M/s)`,
  );
  const rows: Row[] = [
    {
      id: "W5.tick",
      workload: "W5 HLC",
      measure: "hlcTick",
      unit: "tick",
      systems: { "mg-sync": tick, baseline: tickPlain },
    },
    {
      id: "W5.receive",
      workload: "W5 HLC",
      measure: "hlcReceive (with drift check)",
      unit: "receive",
      systems: { "mg-sync": receive, baseline: receivePlain },
    },
  ];
  return {
    rows,
    // The whole state of a clock is one number: 16 digits of JSON, nothing on the heap.
    footprints: [{ workload: "W5", system: "mg-sync", what: "one clock", heapBytes: null, encodedBytes: 16 }],
    notes: [],
  };
}
