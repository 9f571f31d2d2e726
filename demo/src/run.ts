/**
 * One run of the demo: parse the command line, open the transport setup, play the story (or
 * the scale-up), print the final state and the convergence check, and always close what was
 * opened. Returns the exit status: 0 converged, 1 not converged, 2 bad command line.
 */
import type { Driver } from "./drivers/driver.js";
import { MemoryDriver } from "./drivers/memory-driver.js";
import { captureFinalViews, checkConvergence, printConvergence, printFinalState } from "./final-state.js";
import { runTime, seconds } from "./format-time.js";
import { type Device, stopAll } from "./household.js";
import { type DemoOptions, HELP, parseDemoOptions, UsageError } from "./options.js";
import { runScale, scaleDeviceSpecs } from "./scale.js";
import { playStory, STORY_DEVICES } from "./story.js";

export interface DemoIo {
  readonly write: (line: string) => void;
  readonly error: (line: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export async function runDemo(argv: readonly string[], io: DemoIo): Promise<number> {
  let options: DemoOptions;
  try {
    // `pnpm demo -- --seed 7` (npm's habit) hands the `--` on: accept it.
    options = parseDemoOptions(argv[0] === "--" ? argv.slice(1) : argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.error(`demo: ${error.message}`);
    io.error("Run `pnpm demo --help` for the options.");
    return 2;
  }
  if (options.help) {
    io.write(HELP);
    return 0;
  }
  const driver = await openDriver(options, io);
  try {
    return options.scale === undefined
      ? await runStory(driver, options, io)
      : await runScale(driver, { ...options.scale, seed: options.seed, quiet: options.quiet }, io.write);
  } finally {
    await driver.close();
  }
}

async function openDriver(options: DemoOptions, io: DemoIo): Promise<Driver> {
  switch (options.transport) {
    case "memory":
      return new MemoryDriver(options.seed);
    case "ws": {
      const { WsDriver } = await import("./drivers/ws-driver.js");
      return WsDriver.start();
    }
    case "pubnub": {
      const { PubNubDriver } = await import("./drivers/pubnub-driver.js");
      // Access Manager tokens name the device they are for: mint them before the devices start.
      const deviceIds =
        options.scale === undefined
          ? STORY_DEVICES.map((spec) => spec.deviceId)
          : scaleDeviceSpecs(options.scale.devices, options.seed).map((spec) => spec.deviceId);
      return PubNubDriver.start(io.env, deviceIds);
    }
  }
}

async function runStory(driver: Driver, options: DemoOptions, io: DemoIo): Promise<number> {
  const { write } = io;
  const started = performance.now();
  write(`mg-sync demo: user ${driver.userId}, ${STORY_DEVICES.length} devices, ${driver.name} transport`);
  write(`  transport  ${driver.description}`);
  for (const spec of STORY_DEVICES)
    write(`  ${spec.label.padEnd(9)}  ${spec.deviceId.padEnd(24)} ${spec.description}`);
  if (!options.quiet) {
    write(
      driver.virtualTime
        ? "Times are mm:ss.mmm of virtual time since the start; ↳ says when each other device saw it."
        : "Times are mm:ss.mmm of real time since the start; ↳ says when each other device saw it.",
    );
  }
  let devices: Device[] = [];
  try {
    devices = await playStory(driver, write, options.quiet);
    const clients = devices.map((d) => d.client);
    await driver.settle(clients);
    // Real-time runs: give the last messages the time a network needs, then judge.
    await driver.until(
      () => checkConvergence(captureFinalViews(devices)).differences.length === 0,
      driver.timing.stepTimeoutMs,
    );
    const views = captureFinalViews(devices);
    const endedAt = driver.elapsed();
    await stopAll(driver, devices);
    if (!options.quiet) printFinalState(views, write);
    const result = checkConvergence(views);
    if (!options.quiet) {
      write("");
      write(
        driver.virtualTime
          ? `Simulated ${runTime(endedAt)} of virtual time.`
          : `Ran ${runTime(endedAt)} of real time (${seconds(performance.now() - started)} wall, servers included).`,
      );
    }
    printConvergence(result, views, write, !options.quiet);
    return result.differences.length === 0 ? 0 : 1;
  } finally {
    await stopAll(driver, devices).catch(() => {});
  }
}
