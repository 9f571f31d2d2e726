/** Turns a run's results into the Markdown table (issue 8 §4) and checks the targets of §5. */
import type { BenchResult, Footprint, Row, SystemName, SystemResult, TargetCheck } from "./results.js";

const LABEL: Record<SystemName, string> = {
  "mg-sync": "mg-sync",
  yjs: "Yjs",
  automerge: "Automerge",
  baseline: "baseline",
};

export function rate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)} k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  if (x >= 10) return x.toFixed(0);
  return x.toFixed(2);
}

function range(r: SystemResult): string {
  return `${rate(r.minOpsPerSec)}–${rate(r.maxOpsPerSec)}`;
}

function bytes(n: number | null): string {
  if (n === null) return "—";
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

function ratio(core: SystemResult | undefined, peer: SystemResult | undefined): number | null {
  return core === undefined || peer === undefined ? null : core.medianOpsPerSec / peer.medianOpsPerSec;
}

export function evaluateTargets(rows: readonly Row[]): TargetCheck[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const checks: TargetCheck[] = [];
  const add = (
    target: string,
    value: number | null,
    holds: (v: number) => boolean,
    show: (v: number) => string,
  ) => {
    if (value !== null) checks.push({ target, measured: show(value), holds: holds(value) });
  };
  for (const id of ["W1.apply", "W2.apply"]) {
    const row = byId.get(id);
    if (row === undefined) continue;
    const s = row.systems;
    const core = s["mg-sync"];
    const w = id.slice(0, 2);
    add(
      `${w} apply per message ≥ 10× Yjs`,
      ratio(core, s.yjs),
      (v) => v >= 10,
      (v) => `${v.toFixed(1)}×`,
    );
    const am = s.automerge;
    add(
      `${w} apply per message ≥ 50× Automerge`,
      ratio(core, am),
      (v) => v >= 50,
      (v) =>
        `${v.toFixed(0)}×${am?.slice === undefined ? "" : ` (Automerge on a ${am.slice.ops.toLocaleString("en-US")}-message slice)`}`,
    );
    add(
      `${w} apply per message ≥ 50 % of baseline`,
      ratio(core, s.baseline),
      (v) => v >= 0.5,
      (v) => `${(v * 100).toFixed(0)} %`,
    );
  }
  for (const id of ["W3.progress", "W3.watchlist"]) {
    const row = byId.get(id);
    if (row === undefined) continue;
    add(
      `W3 ${id.slice(3)} end to end ≥ 40 % of bare JSON.parse`,
      ratio(row.systems["mg-sync"], row.systems.baseline),
      (v) => v >= 0.4,
      (v) => `${(v * 100).toFixed(0)} %`,
    );
  }
  const w4 = byId.get("W4.reconcile")?.systems["mg-sync"];
  if (w4 !== undefined) {
    add(
      "W4 10 000-title state reconciled in < 100 ms",
      w4.medianMs,
      (v) => v < 100,
      (v) => `${v.toFixed(1)} ms (median)`,
    );
  }
  return checks;
}

export function renderMarkdown(result: BenchResult): string {
  const { env } = result;
  const out: string[] = [];
  out.push("# mg-sync benchmarks");
  out.push("");
  out.push(
    `${env.date.slice(0, 10)} · Node ${env.node} (V8 ${env.v8}) · ${env.cpuModel} × ${env.cores} cores · ${env.memoryGiB} GiB · ${env.platform}`,
  );
  out.push("");
  out.push(
    `Mode \`${String(result.config.mode)}\`, seed ${String(result.config.seed)}, commit ${env.gitCommit ?? "unknown"}${env.gitDirty === true ? " (packages/ has uncommitted changes)" : ""}, ${Object.entries(
      env.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}. Total ${result.totalSeconds.toFixed(0)} s.`,
  );
  out.push("");
  out.push("## Throughput");
  out.push("");
  out.push(
    "ops/s, median of the samples (min–max in brackets). ×Yjs, ×Automerge: mg-sync's median over theirs; vs baseline: mg-sync's median as a share of the baseline's (for W3 the baseline is bare `JSON.parse` of the same strings).",
  );
  out.push("");
  out.push(
    "| Workload | Measure | Unit | mg-sync | mg-sync ms/run | Yjs | Automerge | baseline | ×Yjs | ×Automerge | vs baseline |",
  );
  out.push("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
  const footnotes: string[] = [];
  const mark = (r: SystemResult, who: string, row: Row): string => {
    if (r.slice === undefined) return "";
    // Slices are always of the delivered stream, so one note per system and workload.
    const workload = row.id.split(".")[0];
    const text = `${who} in ${workload} (every row) ran on the first ${r.slice.ops.toLocaleString("en-US")} of the ${r.slice.of.toLocaleString("en-US")} delivered updates, the devices making just the updates in that slice: the whole stream takes far over 60 s. Its cost per update grows with the document's size, so the slice flatters it.`;
    let n = footnotes.indexOf(text);
    if (n < 0) n = footnotes.push(text) - 1;
    return ` [${n + 1}]`;
  };
  for (const row of result.rows) {
    const s = row.systems;
    const cell = (name: SystemName): string => {
      const r = s[name];
      return r === undefined ? "—" : `${rate(r.medianOpsPerSec)} (${range(r)})${mark(r, LABEL[name], row)}`;
    };
    const core = s["mg-sync"];
    const x = (peer: SystemName): string => {
      const v = ratio(core, s[peer]);
      return v === null ? "—" : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}×`;
    };
    const vb = ratio(core, s.baseline);
    const measureText =
      row.baselineIs === undefined ? row.measure : `${row.measure} (baseline: ${row.baselineIs})`;
    out.push(
      `| ${row.workload} | ${measureText} | ${row.unit} | ${cell("mg-sync")} | ${core === undefined ? "—" : core.medianMs.toFixed(1)} | ${cell("yjs")} | ${cell("automerge")} | ${cell("baseline")} | ${x("yjs")} | ${x("automerge")} | ${vb === null ? "—" : `${(vb * 100).toFixed(0)} %`} |`,
    );
  }
  out.push("");
  footnotes.forEach((f, i) => {
    out.push(`[${i + 1}] ${f}`);
  });
  if (footnotes.length > 0) out.push("");

  out.push("## Targets (issue 8 §5)");
  out.push("");
  out.push("| Target | Measured | Holds |");
  out.push("|---|---|---|");
  for (const t of result.targets) out.push(`| ${t.target} | ${t.measured} | ${t.holds ? "yes" : "**NO**"} |`);
  out.push("");

  out.push("## Memory and encoded size");
  out.push("");
  out.push(
    "Heap: JS heap + external memory (ArrayBuffers, Automerge's WASM) grown while building the state, measured after a full GC with the state alive. Automerge's WASM memory never shrinks, so its figure is a high-water mark. Encoded: mg-sync's JSON snapshot (`syncStateToJSON`) or its reconciliation chunks, Yjs `encodeStateAsUpdate`, Automerge `save`, the baseline's `JSON.stringify`.",
  );
  out.push("");
  out.push("| Workload | System | State | Heap after GC | Encoded |");
  out.push("|---|---|---|--:|--:|");
  for (const f of result.footprints) out.push(footprintLine(f));
  out.push("");

  out.push("## Transports (issue 8 §3)");
  out.push("");
  out.push("| Transport | Scenario | Offered msg/s | p50 ms | p99 ms | p99.9 ms | Sustained msg/s |");
  out.push("|---|---|--:|--:|--:|--:|--:|");
  for (const t of result.transports) {
    const v = (x: number | null): string => (x === null ? "pending" : x.toFixed(2));
    out.push(
      `| ${t.transport} | ${t.scenario} | ${t.offeredMsgPerSec === null ? "—" : t.offeredMsgPerSec.toLocaleString("en-US")} | ${v(t.p50Ms)} | ${v(t.p99Ms)} | ${v(t.p999Ms)} | ${t.sustainedMsgPerSec === null ? "pending" : rate(t.sustainedMsgPerSec)} |`,
    );
  }
  out.push("");
  if (result.notes.length > 0) {
    out.push("## Notes");
    out.push("");
    for (const note of result.notes) out.push(`- ${note}`);
    out.push("");
  }
  return out.join("\n");
}

function footprintLine(f: Footprint): string {
  const slice =
    f.slice === undefined
      ? ""
      : ` (slice: ${f.slice.ops.toLocaleString("en-US")} of ${f.slice.of.toLocaleString("en-US")})`;
  return `| ${f.workload} | ${LABEL[f.system]} | ${f.what}${slice} | ${bytes(f.heapBytes)} | ${bytes(f.encodedBytes)} |`;
}
