/** Turns a run's results into the Markdown table (issue 8 §4) and checks the targets of §5. */
import type {
  BenchResult,
  Footprint,
  Row,
  SystemName,
  SystemResult,
  TargetCheck,
  TransportRow,
} from "./results.js";

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

export function evaluateTargets(
  rows: readonly Row[],
  transports: readonly TransportRow[] = [],
): TargetCheck[] {
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
  checks.push(...transportTargets(transports));
  return checks;
}

/** Issue 8 §5 for the hub, and spec 10.1's end-to-end SLO; only rows that were measured. */
function transportTargets(transports: readonly TransportRow[]): TargetCheck[] {
  const byId = new Map(transports.filter((t) => t.measured !== undefined).map((t) => [t.id, t]));
  const checks: TargetCheck[] = [];
  const hubMax = byId.get("T.ws-hub.max")?.sustainedMsgPerSec;
  const rawMax = byId.get("T.raw-ws.max")?.sustainedMsgPerSec;
  if (typeof hubMax === "number" && typeof rawMax === "number" && rawMax > 0) {
    const share = hubMax / rawMax;
    checks.push({
      target: "ws hub throughput ≥ 50 % of the raw ws broadcast ceiling",
      measured: `${(share * 100).toFixed(0)} % (${rate(hubMax)} vs ${rate(rawMax)} msg/s)`,
      holds: share >= 0.5,
    });
  }
  for (const scenario of ["one", "many"]) {
    const row = byId.get(`T.ws-hub.${scenario}.10000`);
    if (row === undefined) continue;
    const raw = byId.get(`T.raw-ws.${scenario}.10000`);
    checks.push({
      target: `ws hub p99 < 5 ms at 10 000 msg/s (${row.scenario})`,
      measured: `${latency(row.p99Ms, row)} ms${raw === undefined ? "" : ` (raw ws ceiling: ${latency(raw.p99Ms, raw)} ms)`}`,
      holds: row.p99Ms !== null && row.p99Ms < 5,
    });
  }
  for (const name of ["ws-hub", "pubnub-local"]) {
    const row = byId.get(`T.${name}.e2e`);
    if (row === undefined) continue;
    checks.push({
      target: `end-to-end sync over ${name} within spec 10.1 (p50 75, p99 150, p99.9 300 ms)`,
      measured: `${latency(row.p50Ms, row)} / ${latency(row.p99Ms, row)} / ${latency(row.p999Ms, row)} ms`,
      holds:
        row.p50Ms !== null &&
        row.p99Ms !== null &&
        row.p999Ms !== null &&
        row.p50Ms <= 75 &&
        row.p99Ms <= 150 &&
        row.p999Ms <= 300,
    });
  }
  return checks;
}

/** A latency cell: `pending` before measuring, `> window` past the drain window. */
function latency(x: number | null, row: TransportRow): string {
  const m = row.measured;
  if (m === undefined) return "pending";
  if (x === null) {
    if (m.samples === 0) return "—";
    return m.drainMs === null ? "lost" : `> ${m.drainMs.toLocaleString("en-US")}`;
  }
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
}

function transportTable(result: BenchResult, out: string[]): void {
  out.push("## Transports (issue 8 §3)");
  out.push("");
  out.push(
    "Publish → receive latency, ms: every (message, subscriber) receipt after a warm-up, measured from the time the message was *scheduled* to be sent (open loop, so a publisher held back by the transport adds its delay to the latency instead of hiding it: coordinated omission corrected). A receipt still missing when the drain window closes counts as infinitely late; a percentile among those shows as `> window`. msg/s received: messages that reached every subscriber per second — at the offered load in latency rows, the most it sustains in throughput rows. Missing: share of receipts never seen. Busy: event-loop utilisation of the server thread / the clients' thread (publisher and subscribers share one). raw-ws is a `ws` server that only fans out: the ceiling.",
  );
  out.push("");
  out.push(
    "| Transport | Scenario | Offered msg/s | p50 ms | p99 ms | p99.9 ms | max ms | msg/s received | Missing | Busy server / clients |",
  );
  out.push("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
  const notes: string[] = [];
  const mark = (text: string): string => {
    let n = notes.indexOf(text);
    if (n < 0) n = notes.push(text) - 1;
    return ` [T${n + 1}]`;
  };
  for (const t of result.transports) {
    const m = t.measured;
    const marks: string[] = [];
    if (m?.note !== undefined) marks.push(mark(m.note));
    if (m?.sendLagP99Ms !== undefined && m.sendLagP99Ms > 5)
      marks.push(
        mark(
          `${t.transport}, ${t.scenario}, ${t.offeredMsgPerSec?.toLocaleString("en-US") ?? "?"} msg/s: the publisher handed messages over up to ${m.sendLagP99Ms.toFixed(0)} ms after their due time (p99; its thread was busy); the latency includes it.`,
        ),
      );
    if (m?.publishErrors !== undefined)
      marks.push(
        mark(
          `${t.transport} ${t.scenario}${t.offeredMsgPerSec === null ? "" : ` at ${t.offeredMsgPerSec.toLocaleString("en-US")} msg/s`}: publishes rejected — ${Object.entries(
            m.publishErrors,
          )
            .map(([code, n]) => `${code} × ${n.toLocaleString("en-US")}`)
            .join(", ")} (counted as missing).`,
        ),
      );
    const label = m?.clock === "virtual" ? `${t.transport} (virtual time)` : t.transport;
    const received =
      t.sustainedMsgPerSec === null
        ? m === undefined
          ? "pending"
          : "—"
        : `${rate(t.sustainedMsgPerSec)}${m?.rangeMsgPerSec === undefined ? "" : ` (${rate(m.rangeMsgPerSec[0])}–${rate(m.rangeMsgPerSec[1])})`}`;
    const missing =
      m === undefined
        ? "pending"
        : m.missing === 0
          ? "0"
          : `${(m.missing * 100).toFixed(m.missing < 0.01 ? 2 : 1)} %`;
    const pct = (x: number | undefined): string => (x === undefined ? "—" : `${(x * 100).toFixed(0)} %`);
    const busy =
      m?.serverBusy === undefined && m?.clientBusy === undefined
        ? "—"
        : `${pct(m?.serverBusy)} / ${pct(m?.clientBusy)}`;
    out.push(
      `| ${label}${marks.join("")} | ${t.scenario} | ${t.offeredMsgPerSec === null ? "—" : t.offeredMsgPerSec.toLocaleString("en-US")} | ${latency(t.p50Ms, t)} | ${latency(t.p99Ms, t)} | ${latency(t.p999Ms, t)} | ${m === undefined ? "pending" : latency(m.maxMs, t)} | ${received} | ${missing} | ${busy} |`,
    );
  }
  out.push("");
  notes.forEach((text, i) => {
    out.push(`[T${i + 1}] ${text}`);
  });
  if (notes.length > 0) out.push("");
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

  if (result.transports.length > 0) transportTable(result, out);
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
