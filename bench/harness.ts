/**
 * Timing and memory: warm-up runs, then several timed samples on fresh state, each after a
 * forced GC so one sample's garbage is not collected on the next one's clock. Reports the
 * median and the min–max; never asserts anything (benchmarks are notes, not tests).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

const gcFn = (globalThis as { gc?: () => void }).gc;

/**
 * Runs a full GC when node was started with `--expose-gc` (the bench scripts do). For a memory
 * reading (`settle`), GCs until memory has not fallen for 6 GCs in a row: a dropped Y.Doc
 * is sometimes freed only by the 2nd to 5th full GC after it became garbage (measured), and a
 * reading taken before that is off by a whole state.
 */
export function collect(settle = false): void {
  if (gcFn === undefined) return;
  gcFn();
  if (!settle) return;
  let low = memoryInUse();
  for (let i = 0, calm = 0; i < 24 && calm < 6; i++) {
    gcFn();
    const now = memoryInUse();
    if (low - now > 16 * 1024) {
      low = now;
      calm = 0;
    } else calm++;
  }
}

export function gcExposed(): boolean {
  return gcFn !== undefined;
}

/** JS heap plus memory outside it (ArrayBuffers, Automerge's WASM linear memory). */
export function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export interface Timing {
  /** Units of work one run does (updates, messages, entries, titles …). */
  readonly ops: number;
  /** Wall time of each timed sample, ms. */
  readonly samplesMs: number[];
  readonly medianOpsPerSec: number;
  readonly minOpsPerSec: number;
  readonly maxOpsPerSec: number;
  readonly medianMs: number;
  /** Heap + external growth across the last sample, after GC, with its result alive; null if not measured. */
  readonly retainedBytes: number | null;
}

export interface MeasureOptions<S, R> {
  readonly ops: number;
  readonly samples: number;
  readonly warmups: number;
  /** Builds the input of one run, untimed (a fresh empty replica, …). */
  readonly setup: () => S;
  /** The timed part. */
  readonly run: (input: S) => R;
  /** An untimed, smaller run for warm-up (default: `setup` + `run`). */
  readonly warmup?: () => void;
  /** Measure the memory the last sample's result holds (slow: many GCs; only where reported). */
  readonly memory?: boolean;
  /** Called with the last sample's result while it is still alive (encoded sizes, checks). */
  readonly inspect?: (result: R) => void;
}

/** The result of the sample being measured: module-level, so nothing else decides its lifetime. */
let alive: unknown;

export function measure<S, R>(options: MeasureOptions<S, R>): Timing {
  for (let i = 0; i < options.warmups; i++) {
    if (options.warmup !== undefined) options.warmup();
    else options.run(options.setup());
  }
  const samplesMs: number[] = [];
  let retainedBytes: number | null = null;
  for (let i = 0; i < options.samples; i++) {
    const input = options.setup();
    // Drop the previous sample's result first, or it survives the GC below and the memory
    // figure becomes the difference of two states instead of one state.
    alive = undefined;
    const last = i === options.samples - 1;
    const reading = last && options.memory === true;
    collect(reading);
    const before = memoryInUse();
    samplesMs.push(timedRun(options.run, input));
    if (reading) {
      collect(true);
      retainedBytes = gcExposed() ? Math.max(0, memoryInUse() - before) : null;
    }
    if (last) options.inspect?.(alive as R);
  }
  alive = undefined;
  return timing(options.ops, samplesMs, retainedBytes);
}

/**
 * One timed call, in its own frame: the result is only ever held by `alive`, so once that is
 * cleared no stale register of the caller can keep it through the next GC.
 */
function timedRun<S, R>(run: (input: S) => R, input: S): number {
  const start = performance.now();
  alive = run(input);
  return performance.now() - start;
}

export function timing(ops: number, samplesMs: number[], retainedBytes: number | null): Timing {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    ops,
    samplesMs,
    medianOpsPerSec: (ops / medianMs) * 1000,
    minOpsPerSec: (ops / sorted[sorted.length - 1]!) * 1000,
    maxOpsPerSec: (ops / sorted[0]!) * 1000,
    medianMs,
    retainedBytes,
  };
}

export interface Environment {
  readonly date: string;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly gitCommit: string | null;
  readonly gitDirty: boolean | null;
  readonly versions: Readonly<Record<string, string>>;
}

export function environment(packages: readonly string[]): Environment {
  const cpus = os.cpus();
  const versions: Record<string, string> = {};
  for (const name of packages) versions[name] = packageVersion(name);
  let gitCommit: string | null = null;
  let gitDirty: boolean | null = null;
  try {
    gitCommit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    gitDirty =
      execFileSync("git", ["status", "--porcelain", "--", "../packages"], { encoding: "utf8" }).trim() !== "";
  } catch {
    // Not a git checkout (a tarball): the header just says so.
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    gitCommit,
    gitDirty,
    versions,
  };
}

function packageVersion(name: string): string {
  try {
    // Read from the bench's own node_modules: not every package exports its package.json.
    const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
