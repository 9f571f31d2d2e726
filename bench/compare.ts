/**
 * Regression check for notes (issue 8 §4), never a CI gate: compares two results JSON files row
 * by row and flags every measurement whose median ops/s fell by more than 20 %. Always exits 0.
 *
 *   pnpm --filter @mg-sync/bench run compare -- results/before.json results/latest.json [--threshold=0.2]
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { rate } from "./report.js";
import { type BenchResult, SYSTEMS } from "./results.js";

function load(file: string): BenchResult {
  return JSON.parse(readFileSync(resolve(process.cwd(), file), "utf8")) as BenchResult;
}

function main(argv: readonly string[]): void {
  const files = argv.filter((a) => !a.startsWith("--"));
  const threshold = Number(argv.find((a) => a.startsWith("--threshold="))?.slice(12) ?? 0.2);
  if (files.length !== 2) {
    process.stdout.write("usage: compare.ts <before.json> <after.json> [--threshold=0.2]\n");
    return;
  }
  const [before, after] = [load(files[0]!), load(files[1]!)];
  const out: string[] = [];
  out.push(
    `before: ${files[0]} (${before.env.date}, ${before.env.gitCommit ?? "?"}, ${String(before.config.mode)})`,
  );
  out.push(
    `after:  ${files[1]} (${after.env.date}, ${after.env.gitCommit ?? "?"}, ${String(after.config.mode)})`,
  );
  if (before.config.mode !== after.config.mode)
    out.push("warning: different modes; sizes differ, rates may not compare");
  if (before.env.cpuModel !== after.env.cpuModel || before.env.node !== after.env.node)
    out.push(
      `warning: different machine or Node (${before.env.cpuModel}/${before.env.node} → ${after.env.cpuModel}/${after.env.node})`,
    );
  out.push("");
  out.push("| Row | System | before ops/s | after ops/s | change | |");
  out.push("|---|---|--:|--:|--:|---|");
  const old = new Map(before.rows.map((r) => [r.id, r]));
  let flagged = 0;
  for (const row of after.rows) {
    const prev = old.get(row.id);
    if (prev === undefined) continue;
    for (const system of SYSTEMS) {
      const a = prev.systems[system];
      const b = row.systems[system];
      if (a === undefined || b === undefined) continue;
      if ((a.slice?.ops ?? 0) !== (b.slice?.ops ?? 0)) continue;
      const change = b.medianOpsPerSec / a.medianOpsPerSec - 1;
      const slower = change < -threshold;
      if (slower) flagged++;
      out.push(
        `| ${row.id} | ${system} | ${rate(a.medianOpsPerSec)} | ${rate(b.medianOpsPerSec)} | ${change >= 0 ? "+" : ""}${(change * 100).toFixed(1)} % | ${slower ? `**SLOWER > ${(threshold * 100).toFixed(0)} %**` : ""} |`,
      );
    }
  }
  out.push("");
  out.push(
    flagged === 0
      ? `No row is more than ${(threshold * 100).toFixed(0)} % slower.`
      : `${flagged} row(s) more than ${(threshold * 100).toFixed(0)} % slower: re-run both to rule out noise (see the min–max in each result) before blaming a change.`,
  );
  process.stdout.write(`${out.join("\n")}\n`);
}

main(process.argv.slice(2));
