/**
 * `pnpm demo` on the memory transport: the command exits 0 with `converged: 3 devices,
 * 0 differences` as its last line for two seeds, a seed replays the same output byte for
 * byte, and the check does fail when devices hold different states.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MemoryDriver } from "../../demo/src/drivers/memory-driver.js";
import { captureFinalViews, checkConvergence, printConvergence } from "../../demo/src/final-state.js";
import { createDevice, newWiring } from "../../demo/src/household.js";
import { runDemo } from "../../demo/src/run.js";
import { STORY_DEVICES } from "../../demo/src/story.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The real command: `node --import tsx demo/src/main.ts …` from the repository root. */
function command(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "demo/src/main.ts", ...args],
      { cwd: ROOT, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

async function inProcess(args: readonly string[]): Promise<{ status: number; output: string }> {
  const lines: string[] = [];
  const status = await runDemo(args, {
    write: (line) => lines.push(line),
    error: (line) => lines.push(`stderr: ${line}`),
    env: {},
  });
  return { status, output: lines.join("\n") };
}

function lastLine(text: string): string | undefined {
  return text.trimEnd().split("\n").at(-1);
}

describe("pnpm demo on the memory transport", () => {
  it.each([1, 2])("converges with seed %i: exit 0 and the verdict as the last line", async (seed) => {
    const { status, stdout, stderr } = await command(["--seed", String(seed)]);
    expect(stderr).not.toMatch(/error/i);
    expect(lastLine(stdout)).toBe("converged: 3 devices, 0 differences");
    expect(status).toBe(0);
    // The story ran: every section, and a reconciliation after the long outage.
    for (const section of ["6.1", "5.1", "7.2", "5.2", "6.3", "7.3", "8.2", "6.4"])
      expect(stdout).toMatch(new RegExp(`^${section.replace(".", "\\.")}  `, "m"));
    expect(stdout).toContain("refuses it (expired)");
    expect(stdout).toMatch(/web {5}is back: transport reconnected, but history no longer reaches back/);
    expect(stdout).toMatch(/answers web: its whole state/);
    expect(stdout).not.toContain("not seen");
  });

  it("replays a seed exactly, and another seed plays differently", async () => {
    const first = await inProcess(["--seed", "7"]);
    const again = await inProcess(["--seed", "7"]);
    const other = await inProcess(["--seed", "8"]);
    expect(first.status).toBe(0);
    expect(again.output).toBe(first.output);
    expect(other.output).not.toBe(first.output);
    expect(lastLine(other.output)).toBe("converged: 3 devices, 0 differences");
  });

  it("says what differs, and fails, when devices do not hold the same state", async () => {
    const driver = new MemoryDriver(1);
    const wiring = newWiring();
    // Never started: each keeps its own optimistic change.
    const devices = STORY_DEVICES.map((spec) => createDevice(driver, spec, wiring));
    devices[0]!.client.watchlist.add("tmdb:550", { title: "Fight Club", year: 1999, content_type: "Movie" });
    devices[2]!.client.preferences.set("subtitles.language", "fr");
    const result = checkConvergence(captureFinalViews(devices));
    const lines: string[] = [];
    printConvergence(result, captureFinalViews(devices), (line) => lines.push(line), true);
    expect(result.differences).toHaveLength(2);
    expect(lines.at(-1)).toMatch(
      /^NOT converged: 3 devices, 2 differences: watchlist Fight Club \(1999\): phone: has it; tv, web: lacks it/,
    );
    await driver.close();
  });

  it("refuses a bad command line with exit status 2", async () => {
    expect((await inProcess(["--transport", "carrier-pigeon"])).status).toBe(2);
    expect((await inProcess(["--seed", "-1"])).status).toBe(2);
    expect((await inProcess(["--devices", "1"])).status).toBe(2);
  });
});
