#!/usr/bin/env node
/** The `mg-sync-hub` executable: `runCli` plus the process's signals. */
import { runCli } from "./cli.js";

const result = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});

const { hub, reloadRevocations } = result;
if (hub === undefined) {
  process.exitCode = result.exitCode;
} else {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    hub.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGHUP", () => reloadRevocations?.());
}
