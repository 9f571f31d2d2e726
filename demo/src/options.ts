/** The demo's command line (Node's `util.parseArgs`), and its `--help`. */
import { parseArgs } from "node:util";
import type { TransportName } from "./drivers/driver.js";

export interface DemoOptions {
  readonly help: boolean;
  readonly seed: number;
  readonly transport: TransportName;
  readonly quiet: boolean;
  /** Set when `--devices` or `--ops` asks for the scale-up run instead of the story. */
  readonly scale: { readonly devices: number; readonly ops: number } | undefined;
}

export const DEFAULT_SEED = 1;
export const DEFAULT_SCALE_DEVICES = 3;
export const DEFAULT_SCALE_OPS = 1_000;
const MAX_DEVICES = 500;
const MAX_OPS = 1_000_000;
const TRANSPORTS: readonly TransportName[] = ["memory", "ws", "pubnub"];

export const HELP = `Usage: pnpm demo [options]

Plays the sync specification's scenarios with a phone, a TV and a web client of one user and
ends with every device's state and a convergence check; the last line is
"converged: 3 devices, 0 differences" and the exit status 0, or it says what differs (exit 1).

Options:
  --seed N               Seed of the memory network (latency, loss, duplicates) and of the
                         devices' randomness; the same seed replays the same output exactly.
                         Default ${DEFAULT_SEED}. Over ws and pubnub it seeds only the scale-up's
                         operations (those runs are in real time).
  --transport NAME       memory (default): the simulated network, on virtual time.
                         ws: a WsHub started in-process on a free port of 127.0.0.1, with
                           HMAC-signed user tokens; real time, a few seconds.
                         pubnub: the official PubNub SDK against the local PubNub emulator on
                           127.0.0.1, or against real PubNub when PUBNUB_PUBLISH_KEY and
                           PUBNUB_SUBSCRIBE_KEY are set (PUBNUB_SECRET_KEY too if the keyset
                           has Access Manager on); real time.
  --devices N            Scale up instead of the story: N devices (default ${DEFAULT_SCALE_DEVICES}, at most ${MAX_DEVICES})
                         of the same user do random operations, then the run checks
                         convergence and prints throughput (ops/s, messages, wall time).
  --ops N                Random operations for the scale-up (default ${DEFAULT_SCALE_OPS}, at most ${MAX_OPS}).
  --quiet                Only the header, the throughput (scale-up) and the convergence check.
  -h, --help             This text.

Examples:
  pnpm demo
  pnpm demo --seed 7
  pnpm demo --transport ws
  pnpm demo --devices 20 --ops 5000
  PUBNUB_PUBLISH_KEY=pub-c-… PUBNUB_SUBSCRIBE_KEY=sub-c-… pnpm demo --transport pubnub`;

/** A bad command line: the message is for the user, the exit status is 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

function integerOption(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw))
    throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`--${name} must be between ${min} and ${max}, got ${raw}`);
  return value;
}

export function parseDemoOptions(argv: readonly string[]): DemoOptions {
  let values: {
    seed?: string | undefined;
    transport?: string | undefined;
    devices?: string | undefined;
    ops?: string | undefined;
    quiet?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        seed: { type: "string" },
        transport: { type: "string" },
        devices: { type: "string" },
        ops: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const transport = (values.transport ?? "memory") as TransportName;
  if (!TRANSPORTS.includes(transport))
    throw new UsageError(
      `--transport must be one of ${TRANSPORTS.join(", ")}, got ${JSON.stringify(values.transport)}`,
    );
  const scaled = values.devices !== undefined || values.ops !== undefined;
  return {
    help: values.help === true,
    seed: integerOption("seed", values.seed, DEFAULT_SEED, 0, Number.MAX_SAFE_INTEGER),
    transport,
    quiet: values.quiet === true,
    scale: scaled
      ? {
          devices: integerOption("devices", values.devices, DEFAULT_SCALE_DEVICES, 2, MAX_DEVICES),
          ops: integerOption("ops", values.ops, DEFAULT_SCALE_OPS, 1, MAX_OPS),
        }
      : undefined,
  };
}
