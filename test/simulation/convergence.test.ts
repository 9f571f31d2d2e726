/**
 * Issue 5 §4: for any network seed, 2–6 devices, random operations (watchlist adds and
 * removes, progress, preferences, remote commands) and random faults (partitions and heals,
 * loss, duplication, reordering, clock skew up to ±30 s, a device away longer than the sync
 * channel's history, crashes and restarts from snapshots), once everything heals and goes quiet
 * every device holds the same state, and it is the state the oracle computes from the operation
 * log (add-wins set; LWW by (timestamp, device_id)).
 *
 * Replay: fast-check prints `seed` and `path` on failure; `FC_SEED=<seed> FC_PATH=<path>` runs
 * exactly the failing schedule again (the network seed is one of the generated values). See
 * README.md.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { expectRunHeld } from "./checks.js";
import { scheduleArbitrary } from "./schedule.js";
import { runSchedule } from "./simulation.js";

const RUNS = process.env.FC_RUNS === undefined ? 300 : Number(process.env.FC_RUNS);
const PATH = process.env.FC_PATH;
/**
 * CI explores a fixed set of 300 schedules (CI=true, no FC_SEED), so a landing is never decided by
 * the luck of the draw; everywhere else every run draws new schedules, which is where new failures
 * are found (and then kept in regressions.test.ts). FC_SEED always wins.
 */
const CI_SEED = 20_241_206;
const SEED =
  process.env.FC_SEED !== undefined
    ? Number(process.env.FC_SEED)
    : process.env.CI === "true"
      ? CI_SEED
      : Math.floor(Math.random() * 0x7fff_ffff);
// Said before the run, not after: a schedule that never settles is cut off by the test's timeout,
// and fast-check prints nothing then. stderr is not held back until the test ends.
process.stderr.write(`simulation: fast-check seed ${SEED} (replay: FC_SEED=${SEED})\n`);

const timings: Array<{ ms: number; summary: string }> = [];

afterAll(() => {
  if (timings.length === 0) return;
  const total = timings.reduce((sum, t) => sum + t.ms, 0);
  const slowest = timings.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(
    `simulation: ${timings.length} schedules in ${(total / 1000).toFixed(1)} s; ` +
      `slowest ${slowest.ms.toFixed(0)} ms (${slowest.summary})`,
  );
});

describe("simulation: convergence to the oracle under faults", () => {
  it(
    `any schedule converges to the oracle of its operation log (${RUNS} schedules)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(scheduleArbitrary(), async (schedule) => {
          const outcome = await runSchedule(schedule);
          timings.push({
            ms: outcome.elapsedMs,
            summary:
              `network seed ${schedule.seed}, ${schedule.devices} devices, ${schedule.steps.length} steps, ` +
              `${schedule.mode}, ${outcome.log.length} operations`,
          });
          expectRunHeld(outcome);
        }),
        {
          numRuns: RUNS,
          seed: SEED,
          ...(PATH === undefined ? {} : { path: PATH }),
        },
      );
    },
    Math.max(180_000, RUNS * 2_000),
  );

  it("a schedule replays exactly: same seed and steps, same trace, same states", async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary({ maxSteps: 25 }), async (schedule) => {
        const first = await runSchedule(schedule);
        const second = await runSchedule(schedule);
        expect(second.traceDigest).toBe(first.traceDigest);
        expect(second.states).toEqual(first.states);
        expect(second.log).toEqual(first.log);
      }),
      { numRuns: 10 },
    );
  });
});
