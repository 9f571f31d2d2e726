/**
 * `pnpm --filter @mg-sync/bench run profile -- W2` — a CPU profile of one of mg-sync's hot paths
 * alone (no peers in the profile), then its top self-time functions.
 *
 *   tsx profile.ts <W1|W2|W3p|W3w|W4> [--top=25] [--no-inlining]
 *       run the workload under `node --cpu-prof` and summarise; `--no-inlining` keeps V8 from
 *       folding small functions into their callers, so self time lands where it is spent
 *       (slower overall, same proportions give or take)
 *   tsx profile.ts --summary <file.cpuprofile>        summarise an existing profile
 *
 * Profiles go to `results/profiles/` (git-ignored: `*.cpuprofile`). Open one in Chrome
 * DevTools (Performance → Load profile) or VS Code for the flame chart.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  applyMessageInto,
  decodeMessage,
  encodeMessage,
  hlcReceive,
  stateToChunks,
  syncStateEmpty,
} from "./core-api.js";
import { catalog, fullStateStreams, interleave, progressStream, watchlistStream } from "./inputs.js";
import { coreProgress } from "./workloads/progress.js";
import { coreWatchlist } from "./workloads/watchlist.js";
import { wireTexts } from "./workloads/wire.js";

const here = dirname(fileURLToPath(import.meta.url));
const TARGETS = ["W1", "W2", "W3p", "W3w", "W4"] as const;
type Target = (typeof TARGETS)[number];
const SEED = 20_241_206;
/** Long enough for a few thousand samples at the default 1 ms interval. */
const SECONDS = 6;

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name + file + line), in ms, largest first. */
export function summarise(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === "" ? "" : ` ${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${functionName === "" ? "(anonymous)" : functionName}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`${basename(file)}: ${total.toFixed(0)} ms sampled; top ${rows.length} by self time`];
  for (const [key, ms] of rows)
    lines.push(`${((ms / total) * 100).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
  return lines.join("\n");
}

function shortUrl(url: string): string {
  const i = url.indexOf("/packages/");
  if (i >= 0) return url.slice(i + 1);
  const j = url.indexOf("/bench/");
  return j >= 0 ? url.slice(j + 1) : url.replace(/^.*node_modules\//, "");
}

/** Runs one hot path repeatedly for SECONDS (the child process, under --cpu-prof). */
function workload(target: Target): void {
  const cat = catalog(10_000, SEED);
  let step: () => void;
  if (target === "W1" || target === "W3p") {
    const stream = progressStream(cat, 100_000, SEED);
    if (target === "W1") {
      const messages = interleave(stream, coreProgress.local(stream).shipped);
      step = () => coreProgress.apply(syncStateEmpty(), messages);
    } else step = wire(wireTexts(stream, coreProgress));
  } else if (target === "W2" || target === "W3w") {
    const stream = watchlistStream(cat, 100_000, SEED);
    if (target === "W2") {
      const messages = interleave(stream, coreWatchlist.local(stream).shipped);
      step = () => coreWatchlist.apply(syncStateEmpty(), messages);
    } else step = wire(wireTexts(stream, coreWatchlist));
  } else {
    const streams = fullStateStreams(cat, SEED);
    const state = syncStateEmpty();
    coreProgress.apply(state, interleave(streams.progress, coreProgress.local(streams.progress).shipped));
    coreWatchlist.apply(state, interleave(streams.watchlist, coreWatchlist.local(streams.watchlist).shipped));
    step = () => {
      const replica = syncStateEmpty();
      for (const chunk of stateToChunks(state, 32 * 1024, { serverTimestamp: Number.MAX_SAFE_INTEGER })) {
        const decoded = decodeMessage(encodeMessage(chunk));
        if (decoded.ok) applyMessageInto(replica, decoded.value);
      }
    };
  }
  const end = performance.now() + SECONDS * 1000;
  let runs = 0;
  while (performance.now() < end) {
    step();
    runs++;
  }
  process.stdout.write(`${target}: ${runs} runs in ${SECONDS} s\n`);
}

function wire(texts: readonly string[]): () => void {
  const now = 1_733_500_800_000 + 10 ** 9;
  return () => {
    const state = syncStateEmpty();
    let clock = 0;
    for (const text of texts) {
      const decoded = decodeMessage(text);
      if (!decoded.ok) continue;
      const m = decoded.value;
      if (m.msg_type === "watch_progress_update" || m.msg_type === "watchlist_update")
        clock = hlcReceive(clock, m.timestamp, now);
      applyMessageInto(state, m);
    }
  };
}

function main(argv: readonly string[]): void {
  const top = Number(argv.find((a) => a.startsWith("--top="))?.slice(6) ?? 25);
  if (argv[0] === "--child") {
    workload(argv[1] as Target);
    return;
  }
  if (argv[0] === "--summary") {
    process.stdout.write(`${summarise(argv[1]!, top)}\n`);
    return;
  }
  const target = argv.find((a) => !a.startsWith("--")) as Target | undefined;
  if (target === undefined || !TARGETS.includes(target))
    throw new Error(`usage: profile.ts <${TARGETS.join("|")}>`);
  const dir = resolve(here, "results/profiles");
  mkdirSync(dir, { recursive: true });
  const name = `${target}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`;
  const child = spawnSync(
    process.execPath,
    [
      ...(argv.includes("--no-inlining") ? ["--no-turbo-inlining"] : []),
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${name}`,
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--child",
      target,
    ],
    { stdio: "inherit", cwd: here },
  );
  if (child.status !== 0) throw new Error(`profiled run failed (${child.status})`);
  const file = join(dir, readdirSync(dir).find((f) => f === name)!);
  process.stdout.write(`${summarise(file, top)}\n`);
}

main(process.argv.slice(2));
