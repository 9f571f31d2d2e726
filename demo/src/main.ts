/**
 * `pnpm demo`: the command. Everything happens in `runDemo`; this file connects it to the
 * process (stdout, stderr, environment, exit status).
 */
import { runDemo } from "./run.js";

const status = await runDemo(process.argv.slice(2), {
  write: (line) => process.stdout.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
});
process.exitCode = status;
