/**
 * `pnpm bench` / `pnpm bench:quick` (issue 8): runs the CRDT workloads W1–W5 for mg-sync, Yjs,
 * Automerge and the plain-JS baseline, the transport suite T (§3), prints the Markdown table and
 * writes it with the JSON results to `results/`.
 *
 *   node --expose-gc --import tsx run.ts [--quick] [--only=W1,W3,T] [--seed=N] [--out=results/name]
 *                                        [--transports=raw-ws,ws-hub,pubnub-local,memory]
 *
 * A full run writes `results/latest.{md,json}`; `--quick` writes `results/quick.*`, and `--only`
 * or `--transports` write `results/partial.*`, so none of them replaces the published table.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { UserSyncState } from "./core-api.js";
import { syncStateEquals, watchlistValues } from "./core-api.js";
import { collect, environment, gcExposed } from "./harness.js";
import {
  catalog,
  fullStateStreams,
  hlcInputs,
  type ProgressOp,
  progressStream,
  type Stream,
  type WatchlistOp,
  watchlistStream,
} from "./inputs.js";
import { evaluateTargets, renderMarkdown } from "./report.js";
import { type BenchResult, type SuiteOutput, TRANSPORTS, type TransportName } from "./results.js";
import { runHlc } from "./workloads/hlc.js";
import {
  automergeProgress,
  baselineProgress,
  coreProgress,
  progressMergeEntries,
  yjsProgress,
} from "./workloads/progress.js";
import { runReconcile } from "./workloads/reconcile.js";
import { type Kept, type ReplicaPlan, runReplicaWorkload } from "./workloads/replica.js";
import {
  automergeWatchlist,
  baselineWatchlist,
  coreWatchlist,
  watchlistMergeEntries,
  yjsWatchlist,
} from "./workloads/watchlist.js";
import { runWire, wireTexts } from "./workloads/wire.js";

const SUITES = ["W5", "W1", "W2", "W3", "W4", "T"] as const;
type SuiteId = (typeof SUITES)[number];

interface Mode {
  readonly name: "full" | "quick";
  readonly titles: number;
  readonly perDevice: number;
  /** Samples for mg-sync and the baseline (fast), and for the peers. */
  readonly samples: number;
  readonly peerSamples: number;
  readonly yjsWarmup: number;
  readonly automergeSlice: number;
  readonly automergeWarmup: number;
  readonly reconcileTitles: number;
  readonly hlcOps: number;
}

const MODES: Record<Mode["name"], Mode> = {
  full: {
    name: "full",
    titles: 10_000,
    perDevice: 100_000,
    samples: 5,
    peerSamples: 3,
    yjsWarmup: 30_000,
    automergeSlice: 3_000,
    automergeWarmup: 300,
    reconcileTitles: 10_000,
    hlcOps: 2_000_000,
  },
  quick: {
    name: "quick",
    titles: 1_000,
    perDevice: 10_000,
    samples: 3,
    peerSamples: 3,
    yjsWarmup: 3_000,
    automergeSlice: 600,
    automergeWarmup: 300,
    reconcileTitles: 10_000,
    hlcOps: 500_000,
  },
};

function parseArgs(argv: readonly string[]): {
  mode: Mode;
  only: Set<SuiteId> | null;
  transports: Set<TransportName> | null;
  seed: number;
  out: string;
} {
  let mode = MODES.full;
  let only: Set<SuiteId> | null = null;
  let transports: Set<TransportName> | null = null;
  let seed = 20_241_206;
  let out: string | null = null;
  for (const arg of argv) {
    if (arg === "--quick") mode = MODES.quick;
    else if (arg.startsWith("--only=")) {
      only = new Set();
      for (const id of arg.slice(7).split(",")) {
        const upper = id.trim().toUpperCase();
        if (!(SUITES as readonly string[]).includes(upper))
          throw new Error(`--only: unknown suite ${id} (${SUITES.join(", ")})`);
        only.add(upper as SuiteId);
      }
    } else if (arg.startsWith("--transports=")) {
      transports = new Set();
      for (const name of arg.slice(13).split(",")) {
        const trimmed = name.trim();
        if (!(TRANSPORTS as readonly string[]).includes(trimmed))
          throw new Error(`--transports: unknown transport ${name} (${TRANSPORTS.join(", ")})`);
        transports.add(trimmed as TransportName);
      }
    } else if (arg.startsWith("--seed=")) seed = Number.parseInt(arg.slice(7), 10) >>> 0;
    else if (arg.startsWith("--out=")) out = arg.slice(6);
    else throw new Error(`unknown argument ${arg}`);
  }
  return {
    mode,
    only,
    transports,
    seed,
    out:
      out ??
      (only !== null || transports !== null
        ? "results/partial"
        : mode.name === "quick"
          ? "results/quick"
          : "results/latest"),
  };
}

const t0 = performance.now();

/** Progress lines carry the seconds since start, to see where a run's time goes. */
function log(line: string): void {
  const stamp =
    line === "" || line.startsWith(" ")
      ? ""
      : `[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] `;
  process.stdout.write(`${stamp}${line}\n`);
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const args = parseArgs(process.argv.slice(2));
  const { mode, seed } = args;
  const wants = (id: SuiteId): boolean => args.only === null || args.only.has(id);
  if (!gcExposed())
    log("warning: run node with --expose-gc (the bench scripts do); memory is not measured without it");
  const env = environment(["yjs", "@automerge/automerge", "tsx", "ws"]);
  log(`mg-sync bench (${mode.name}, seed ${seed}) · Node ${env.node} · ${env.cpuModel} × ${env.cores}`);
  const started = performance.now();

  const outputs: SuiteOutput[] = [];
  const fast: ReplicaPlan = { samples: mode.samples };
  const yjsPlan: ReplicaPlan = { samples: mode.peerSamples, warmupOps: mode.yjsWarmup };
  const amPlan: ReplicaPlan = {
    samples: mode.peerSamples,
    slice: mode.automergeSlice,
    warmupOps: mode.automergeWarmup,
  };

  if (wants("W5")) {
    log("W5 HLC");
    outputs.push(runHlc(hlcInputs(mode.hlcOps, seed), mode.samples, log));
  }

  const cat = catalog(mode.titles, seed);
  let progress: Stream<ProgressOp> | undefined;
  let watchlist: Stream<WatchlistOp> | undefined;
  if (wants("W1") || wants("W3")) progress = progressStream(cat, mode.perDevice, seed);
  if (wants("W2") || wants("W3")) watchlist = watchlistStream(cat, mode.perDevice, seed);

  if (wants("W1") && progress !== undefined) {
    log(
      `W1 progress: 3 devices × ${mode.perDevice.toLocaleString("en-US")} updates over ${mode.titles.toLocaleString("en-US")} titles`,
    );
    const { output, kept } = runReplicaWorkload(
      {
        workload: "W1",
        title: "progress (LWW)",
        unit: "update",
        stream: progress,
        mergeEntries: progressMergeEntries,
        stateName: "progress map",
      },
      [
        { system: coreProgress, plan: fast, keep: true },
        { system: baselineProgress, plan: fast, keep: true },
        { system: yjsProgress, plan: yjsPlan },
        { system: automergeProgress, plan: amPlan },
      ],
      log,
    );
    checkProgress(kept);
    outputs.push(output);
  }

  if (wants("W2") && watchlist !== undefined) {
    log(
      `W2 watchlist: 3 devices × ${mode.perDevice.toLocaleString("en-US")} adds/removes (60/40) over ${mode.titles.toLocaleString("en-US")} titles`,
    );
    const { output, kept } = runReplicaWorkload(
      {
        workload: "W2",
        title: "watchlist (add-wins)",
        unit: "update",
        stream: watchlist,
        mergeEntries: watchlistMergeEntries,
        stateName: "watchlist",
      },
      [
        { system: coreWatchlist, plan: fast, keep: true },
        { system: baselineWatchlist, plan: fast, keep: true },
        { system: yjsWatchlist, plan: yjsPlan },
        { system: automergeWatchlist, plan: amPlan },
      ],
      log,
    );
    checkWatchlist(kept);
    outputs.push(output);
  }

  if (wants("W3") && progress !== undefined && watchlist !== undefined) {
    log("W3 wire");
    let latest = 0;
    for (const s of [progress, watchlist] as Stream<{ phys: number }>[])
      for (const ops of s.ops) for (const op of ops) latest = Math.max(latest, op.phys);
    outputs.push(
      runWire(
        [
          { name: "progress", texts: wireTexts(progress, coreProgress) },
          { name: "watchlist", texts: wireTexts(watchlist, coreWatchlist) },
        ],
        latest + 1,
        mode.samples,
        log,
      ),
    );
  }
  progress = undefined;
  watchlist = undefined;

  if (wants("W4")) {
    log(`W4 reconcile: ${mode.reconcileTitles.toLocaleString("en-US")} titles`);
    const streams = fullStateStreams(catalog(mode.reconcileTitles, seed), seed);
    let latest = 0;
    for (const ops of streams.watchlist.ops) for (const op of ops) latest = Math.max(latest, op.ts);
    outputs.push(runReconcile(streams, latest + 1, mode.samples, log));
  }

  if (wants("T")) {
    collect();
    outputs.push(await transports(mode, seed, args.transports ?? new Set(TRANSPORTS)));
  }

  const rows = outputs.flatMap((o) => o.rows);
  const result: BenchResult = {
    env,
    config: {
      mode: mode.name,
      seed,
      suites: args.only === null ? [...SUITES] : [...args.only],
      transports: args.transports === null ? [...TRANSPORTS] : [...args.transports],
      ...mode,
    },
    rows,
    footprints: outputs.flatMap((o) => o.footprints),
    transports: outputs.flatMap((o) => o.transports ?? []),
    targets: evaluateTargets(
      rows,
      outputs.flatMap((o) => o.transports ?? []),
    ),
    notes: [
      `Samples: ${mode.samples} timed runs per measurement for mg-sync and the baseline, ${mode.peerSamples} for Yjs and Automerge, each after an untimed warm-up run and a full GC.`,
      ...outputs.flatMap((o) => o.notes),
    ],
    totalSeconds: (performance.now() - started) / 1000,
  };
  const markdown = renderMarkdown(result);
  log("");
  process.stdout.write(`${markdown}\n`);
  const base = resolve(here, args.out);
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  log(`written: ${base}.md, ${base}.json`);
  if (args.out === "results/latest") {
    publishInReadme(resolve(here, "README.md"), markdown);
    log("README.md: current results replaced");
  }
}

/**
 * The transport suite (issue 8 §3), loaded only now: it imports the transports' and the sync
 * client's `dist/`, and a checkout where only crdt-core was built still runs W1–W5.
 */
async function transports(mode: Mode, seed: number, only: ReadonlySet<TransportName>): Promise<SuiteOutput> {
  let suite: typeof import("./workloads/transport.js");
  try {
    suite = await import("./workloads/transport.js");
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    log(`T skipped: ${why}`);
    return {
      rows: [],
      footprints: [],
      transports: [],
      notes: [
        `Transports not measured: ${why} (run \`pnpm build\` first: the suite imports every package's dist/).`,
      ],
    };
  }
  return suite.runTransports({ quick: mode.name === "quick", seed, only, log });
}

/** The README shows the latest full run (issue 8 §4): between its two markers, headings one level down. */
function publishInReadme(readme: string, markdown: string): void {
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  const text = readFileSync(readme, "utf8");
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return;
  const body = markdown
    .split("\n")
    .filter((line) => !line.startsWith("# "))
    .map((line) => (line.startsWith("## ") ? `#${line}` : line))
    .join("\n")
    .trim();
  writeFileSync(readme, `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`);
}

/** mg-sync's replica equals its merge, and the baseline (same LWW rule) picked the same winners. */
function checkProgress(kept: Kept<unknown>): void {
  const core = kept["mg-sync"];
  const plain = kept.baseline;
  if (core === undefined || plain === undefined) return;
  const applied = core.apply as UserSyncState;
  if (!syncStateEquals(applied, core.merge as UserSyncState))
    throw new Error("W1: applied replica ≠ merged state");
  const map = plain.apply as Map<string, { timestamp: number; device_id: string }>;
  if (map.size !== applied.progress.entries.size)
    throw new Error("W1: baseline and mg-sync hold different titles");
  for (const [title, entry] of applied.progress.entries) {
    const other = map.get(title);
    if (other === undefined || other.timestamp !== entry.ts || other.device_id !== entry.node)
      throw new Error(`W1: baseline and mg-sync disagree on ${title}`);
  }
}

/** mg-sync's replica equals its merge, and the textbook OR-Set lists the same titles. */
function checkWatchlist(kept: Kept<unknown>): void {
  const core = kept["mg-sync"];
  const plain = kept.baseline;
  if (core === undefined || plain === undefined) return;
  const applied = core.apply as UserSyncState;
  if (!syncStateEquals(applied, core.merge as UserSyncState))
    throw new Error("W2: applied replica ≠ merged state");
  const titles = [...(plain.apply as Map<string, unknown>).keys()].sort();
  const mine = watchlistValues(applied);
  if (titles.length !== mine.length || titles.some((t, i) => t !== mine[i]))
    throw new Error(`W2: baseline lists ${titles.length} titles, mg-sync ${mine.length}`);
}

main().then(
  () => {
    // Everything the run opened is closed; if a socket or timer still holds the process, say so
    // and leave rather than hang (the timer itself does not keep the process alive).
    setTimeout(() => {
      log("warning: something still held the process 5 s after the run; exiting");
      process.exit(0);
    }, 5_000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
