/**
 * The scale-up: N devices of one user doing M random operations (watchlist adds and removes,
 * progress, preferences) drawn from a seeded generator, then the same convergence check as
 * the story, and the throughput: operations per second of wall time, messages published and
 * delivered.
 */
import { seededRandom } from "@mg-sync/transport-memory";
import { CATALOG } from "./catalog.js";
import type { Driver } from "./drivers/driver.js";
import { captureFinalViews, checkConvergence, printConvergence } from "./final-state.js";
import { count, runTime, seconds } from "./format-time.js";
import {
  createDevice,
  type Device,
  type DeviceKind,
  type DeviceSpec,
  newWiring,
  PHONE_KIND,
  startAll,
  stopAll,
  TV_KIND,
  WEB_KIND,
} from "./household.js";

export interface ScaleOptions {
  readonly devices: number;
  readonly ops: number;
  readonly seed: number;
  readonly quiet: boolean;
}

const KINDS: readonly [string, DeviceKind][] = [
  ["tv", TV_KIND],
  ["phone", PHONE_KIND],
  ["web", WEB_KIND],
];

/** Operation mix, in percent. */
const MIX = { add: 35, remove: 20, progress: 30, preference: 15 } as const;
const PREFERENCES: readonly [string, readonly unknown[]][] = [
  ["subtitles.language", ["en", "fr", "de", "es", null]],
  ["audio.language", ["en", "fr", "original"]],
  ["autoplay.next_episode", [true, false]],
  ["playback.quality", ["auto", "HD", "UHD"]],
];
/** Virtual-time runs spread operations over time: each waits 0..MAX_GAP_MS after the last. */
const MAX_GAP_MS = 20;
/** Longest a real-time scale-up waits for convergence, even while devices still make progress. */
const MAX_REAL_TIME_WAIT_MS = 10 * 60_000;
/** Clocks of the scaled-up devices are off by up to this much either way. */
const MAX_SKEW_MS = 5_000;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** `tv-01`, `phone-02`, `web-03`, … with clocks off by up to ±MAX_SKEW_MS (seeded). */
export function scaleDeviceSpecs(devices: number, seed: number): DeviceSpec[] {
  const random = seededRandom(seed, "demo-scale-devices");
  const width = String(devices).length;
  return Array.from({ length: devices }, (_, i) => {
    const [name, kind] = KINDS[i % KINDS.length]!;
    const label = `${name}-${String(i + 1).padStart(width, "0")}`;
    return {
      label,
      deviceId: label,
      kind,
      description: name,
      skewMs: Math.round((random() * 2 - 1) * MAX_SKEW_MS),
    };
  });
}

export async function runScale(
  driver: Driver,
  options: ScaleOptions,
  write: (line: string) => void,
): Promise<number> {
  const random = seededRandom(options.seed, "demo-scale-ops");
  const specs = scaleDeviceSpecs(options.devices, options.seed);
  write(
    `mg-sync demo, scale-up: user ${driver.userId}, ${count(options.devices)} devices, ${count(options.ops)} random operations, ${driver.name} transport`,
  );
  write(`  transport   ${driver.description}`);
  write(
    `  operations  ${MIX.add} % watchlist add, ${MIX.remove} % remove, ${MIX.progress} % progress, ${MIX.preference} % preference; ${CATALOG.length} titles; clocks off by up to ±${MAX_SKEW_MS / 1000} s; seed ${options.seed}`,
  );

  const wiring = newWiring();
  const devices: Device[] = specs.map((spec) => createDevice(driver, spec, wiring));
  try {
    await startAll(driver, devices);
    await driver.settle(devices.map((d) => d.client));
    const base = { ...wiring.counters };
    const virtualStart = driver.elapsed();
    const wallStart = performance.now();

    for (let i = 0; i < options.ops; i++) {
      const device = pick(random, devices);
      const title = pick(random, CATALOG);
      const roll = random() * 100;
      if (roll < MIX.add) {
        device.client.watchlist.add(title.id, title.snippet);
      } else if (roll < MIX.add + MIX.remove) {
        device.client.watchlist.remove(title.id);
      } else if (roll < MIX.add + MIX.remove + MIX.progress) {
        const state = random() < 0.8 ? "Playing" : "Paused";
        device.client.progress.update(
          title.id,
          Math.floor(random() * title.durationSec),
          title.durationSec,
          state,
        );
      } else {
        const [key, values] = pick(random, PREFERENCES);
        device.client.preferences.set(key, pick(random, values));
      }
      // Virtual time: spread the operations so that some are concurrent and some are not.
      // Real time: let the transports work every few operations.
      if (driver.virtualTime) await driver.wait(Math.floor(random() * (MAX_GAP_MS + 1)));
      else if (i % 50 === 49) await driver.wait(0);
    }

    const clients = devices.map((d) => d.client);
    const converged = () => checkConvergence(captureFinalViews(devices)).differences.length === 0;
    let wallMs: number;
    let virtualMs: number;
    if (driver.virtualTime) {
      // Virtual time costs little wall time: let every retry and reconciliation play out first.
      await driver.settle(clients);
      await driver.until(converged, driver.timing.stepTimeoutMs);
      wallMs = performance.now() - wallStart;
      virtualMs = driver.elapsed() - virtualStart;
    } else {
      // Real time: the clock stops when the devices agree (checked every 50 ms), then things
      // settle. A slow transport is waited for as long as sync messages keep being merged.
      const merged = () =>
        clients.reduce((sum, client) => sum + client.stats().merged + client.stats().duplicates, 0);
      let lastCheck = 0;
      let lastMerged = -1;
      let lastProgress = performance.now();
      await driver.until(() => {
        const now = performance.now();
        const current = merged();
        if (current !== lastMerged) {
          lastMerged = current;
          lastProgress = now;
        }
        if (now - lastProgress > driver.timing.stepTimeoutMs) return true;
        if (now - lastCheck < 50) return false;
        lastCheck = now;
        return converged();
      }, MAX_REAL_TIME_WAIT_MS);
      wallMs = performance.now() - wallStart;
      virtualMs = driver.elapsed() - virtualStart;
      await driver.settle(clients);
    }
    const views = captureFinalViews(devices);
    const published = wiring.counters.published - base.published;
    const delivered = wiring.counters.delivered - base.delivered;
    const bytes = wiring.counters.publishedBytes - base.publishedBytes;
    const perSecond = (n: number) => count(n / (wallMs / 1000));

    write("");
    write("Throughput (from the first operation until every device converged)");
    write(`  operations  ${count(options.ops)} in ${seconds(wallMs)} wall: ${perSecond(options.ops)} ops/s`);
    write(
      `  messages    ${count(published)} published (${count(bytes / 1024)} KiB), ${count(delivered)} delivered: ${perSecond(published + delivered)} messages/s`,
    );
    if (driver.virtualTime) write(`  time        ${runTime(virtualMs)} of virtual time`);
    const extra = driver.counters();
    if (extra !== undefined) write(`  server      ${extra}`);
    const sample = views[0];
    if (sample !== undefined && !options.quiet) {
      write("");
      write(
        `Final state (${sample.device.label}): ${sample.state.watchlist.entries.size} titles on the watchlist, ` +
          `${sample.state.progress.entries.size} with progress, ${sample.state.preferences.entries.size} preferences`,
      );
    }
    await stopAll(driver, devices);
    const result = checkConvergence(views);
    printConvergence(result, views, write, !options.quiet);
    return result.differences.length === 0 ? 0 : 1;
  } finally {
    await stopAll(driver, devices).catch(() => {});
  }
}
