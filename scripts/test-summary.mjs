#!/usr/bin/env node
// Prints the one plain closing line CI reads, `N passed, N failed`, from vitest's JSON report.
// With no report (the build or typecheck failed before the tests ran) it says so and counts
// the run as one failure, so a broken build can never read as a green test run.
import { existsSync, readFileSync } from "node:fs";

const reportPath = process.argv[2] ?? "test-results/vitest.json";
if (!existsSync(reportPath)) {
  console.log(`no test report at ${reportPath}: the tests did not run`);
  console.log("0 passed, 1 failed");
  process.exit(0);
}
const report = JSON.parse(readFileSync(reportPath, "utf8"));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const suiteErrors = (report.testResults ?? []).filter(
  (file) => file.status === "failed" && file.assertionResults?.length === 0,
).length;
const failed = report.numFailedTests + suiteErrors;
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
