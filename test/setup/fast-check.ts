// Global fast-check settings for every property test.
// FC_SEED replays a failing run exactly (fast-check prints the seed and path on failure);
// FC_RUNS raises or lowers the number of runs per property (default 100).
import fc from "fast-check";

const seed = process.env.FC_SEED;
const runs = process.env.FC_RUNS;

fc.configureGlobal({
  numRuns: runs === undefined ? 100 : Number(runs),
  ...(seed === undefined ? {} : { seed: Number(seed) }),
  verbose: 1,
});
