/**
 * `mg-sync-hub`: run a hub, mint tokens, make a secret. Arguments are read with Node's own
 * `util.parseArgs` (stable since Node 20, so no dependency); every flag can also come from an
 * environment variable, named in `--help`. `runCli` does the work and returns the running hub,
 * so tests drive it in-process; `bin.ts` adds the process's signals.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { jsonLineLogger, LOG_LEVELS, type LogLevel } from "./log.js";
import { mintToken, type Permission, type TokenGrants, userTokenGrants } from "./tokens.js";
import { WS_HUB_DEFAULTS, WsHub, type WsHubOptions } from "./ws-hub.js";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Default `fs.readFileSync(path, "utf8")`. */
  readonly readFile?: (path: string) => string;
}

export interface CliResult {
  readonly exitCode: number;
  /** `serve`: the running hub. */
  readonly hub?: WsHub;
  /** `serve`: re-reads `--revocations-file` (the bin calls it on SIGHUP). */
  readonly reloadRevocations?: () => void;
}

type Limit = keyof typeof WS_HUB_DEFAULTS;

/** One line of help per limit; the flag is the kebab-case of the option. */
const LIMIT_HELP: Readonly<Record<Limit, string>> = {
  maxMessageBytes: "largest published payload, UTF-8 bytes of its JSON",
  maxFrameBytes: "largest frame read; a larger one closes the connection with 1009",
  maxBufferedBytes: "unsent bytes per connection before it is closed as a slow consumer (4429)",
  maxPendingRequests: "requests read but unanswered per connection before the hub stops reading it",
  maxSubscriptionsPerConnection: "channels one connection may subscribe to",
  maxNamesPerRequest: "channels or groups one request may name",
  maxChannelsPerGroup: "channels one channel group may hold",
  maxConnections: "open connections; more upgrades get HTTP 503",
  maxBadFrames: "malformed frames tolerated per connection before close 4400",
  helloTimeoutMs: "ms a new connection has to send hello (else close 4408)",
  pingIntervalMs: "ms between pings; a connection silent for a whole interval is dropped",
  closeTimeoutMs: "ms a closing connection gets to finish the close handshake",
  shutdownTimeoutMs: "ms a graceful shutdown waits before cutting connections",
  presenceSweepIntervalMs: "ms between presence timeout checks",
  historySweepIntervalMs: "ms between history retention sweeps",
  defaultHeartbeatIntervalSec: "heartbeat interval (s) of a client that announced none",
  minHeartbeatIntervalSec: "smallest heartbeat interval (s) a client may announce",
  maxHeartbeatIntervalSec: "largest heartbeat interval (s) a client may announce",
  replayPageSize: "messages read from history per page during catch-up",
};

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function envName(flag: string): string {
  return `MG_SYNC_HUB_${flag.replace(/-/g, "_").toUpperCase()}`;
}

interface FlagSpec {
  readonly flag: string;
  readonly type: "string" | "boolean";
  readonly help: string;
  readonly defaultText?: string;
  readonly multiple?: boolean;
  readonly env?: boolean;
}

const SERVE_FLAGS: readonly FlagSpec[] = [
  { flag: "port", type: "string", help: "TCP port to listen on", defaultText: "8787" },
  { flag: "host", type: "string", help: "address to bind", defaultText: "127.0.0.1" },
  { flag: "path", type: "string", help: "HTTP path of WebSocket upgrades", defaultText: "/v1" },
  {
    flag: "secret-file",
    type: "string",
    help: "file holding the token secret (>= 32 bytes); or set MG_SYNC_HUB_SECRET",
  },
  { flag: "insecure", type: "boolean", help: "run WITHOUT access control (no secret); logged loudly" },
  {
    flag: "revocations-file",
    type: "string",
    help: "file of revoked token ids, one per line; re-read on SIGHUP",
  },
  { flag: "log-level", type: "string", help: `one of ${LOG_LEVELS.join(", ")}`, defaultText: "info" },
  ...(Object.keys(WS_HUB_DEFAULTS) as Limit[]).map(
    (key): FlagSpec => ({
      flag: kebab(key),
      type: "string",
      help: LIMIT_HELP[key],
      defaultText: String(WS_HUB_DEFAULTS[key]),
    }),
  ),
];

const TOKEN_FLAGS: readonly FlagSpec[] = [
  { flag: "user", type: "string", help: "the user id the token is for (required)", env: false },
  {
    flag: "ttl",
    type: "string",
    help: "lifetime: 90s, 30m, 24h, 7d or seconds",
    defaultText: "24h",
    env: false,
  },
  {
    flag: "grant",
    type: "string",
    multiple: true,
    env: false,
    help: "extra channel grant NAME=PERMS (PERMS: read,write,manage); NAME may be a pattern like global.*",
  },
  {
    flag: "group-grant",
    type: "string",
    multiple: true,
    env: false,
    help: "extra channel group grant NAME=PERMS",
  },
  {
    flag: "bare",
    type: "boolean",
    env: false,
    help: "only the --grant/--group-grant grants, not spec 11.1's user grants",
  },
  { flag: "token-id", type: "string", env: false, help: "token id (default: random)" },
  { flag: "secret-file", type: "string", help: "file holding the secret; or set MG_SYNC_HUB_SECRET" },
];

function flagLines(flags: readonly FlagSpec[]): string {
  return flags
    .map((spec) => {
      const name = `  --${spec.flag}${spec.type === "string" ? " <value>" : ""}`;
      const extra = [
        spec.defaultText === undefined ? undefined : `default ${spec.defaultText}`,
        spec.env === false ? undefined : `env ${envName(spec.flag)}`,
        spec.multiple === true ? "repeatable" : undefined,
      ].filter((x) => x !== undefined);
      return `${name.padEnd(42)} ${spec.help}${extra.length > 0 ? ` (${extra.join("; ")})` : ""}`;
    })
    .join("\n");
}

export function helpText(): string {
  return `mg-sync-hub: the mg-sync WebSocket sync hub

Usage:
  mg-sync-hub serve [flags]     run the hub (WebSocket on --path, GET /healthz, GET /metrics)
  mg-sync-hub token --user ID   print a signed token for a user (spec 11.1 grants)
  mg-sync-hub secret            print a new random secret (32 bytes, base64url)
  mg-sync-hub --help            this text

serve flags:
${flagLines(SERVE_FLAGS)}

token flags:
${flagLines(TOKEN_FLAGS)}

The secret is read from --secret-file or MG_SYNC_HUB_SECRET (never from a flag, which other
users can see in the process list). Without one, serve refuses to start unless --insecure.
Logs are JSON lines on stdout. SIGTERM / SIGINT shut down gracefully (close code 1001).
Protocol and token format: docs/protocol.md, "WebSocket hub".
`;
}

class UsageError extends Error {}

function parseOptions(flags: readonly FlagSpec[], args: string[]) {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const spec of flags)
    options[spec.flag] = spec.multiple === true ? { type: spec.type, multiple: true } : { type: spec.type };
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | string[] | undefined
    >;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** A flag's value, or its environment variable's. */
function flagValue(
  values: Record<string, string | boolean | string[] | undefined>,
  spec: FlagSpec,
  env: CliIo["env"],
): string | boolean | undefined {
  const value = values[spec.flag];
  if (value !== undefined) return Array.isArray(value) ? value.join(",") : value;
  if (spec.env === false) return undefined;
  const fromEnv = env[envName(spec.flag)];
  if (fromEnv === undefined || fromEnv === "") return undefined;
  if (spec.type === "boolean") return /^(1|true|yes|on)$/i.test(fromEnv);
  return fromEnv;
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${flag} must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

/** `90s`, `30m`, `24h`, `7d`, or a number of seconds. */
export function parseDurationSeconds(text: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (match === null)
    throw new UsageError(`expected a duration like 90s, 30m, 24h or 7d, got ${JSON.stringify(text)}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? "s") as "s" | "m" | "h" | "d"];
  const seconds = Number(match[1]) * unit;
  if (!Number.isSafeInteger(seconds) || seconds <= 0)
    throw new UsageError(`duration must be positive: ${text}`);
  return seconds;
}

function readSecret(
  values: Record<string, string | boolean | string[] | undefined>,
  io: CliIo,
): string | undefined {
  const readFile = io.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const file =
    (typeof values["secret-file"] === "string" ? values["secret-file"] : undefined) ??
    io.env.MG_SYNC_HUB_SECRET_FILE;
  if (file !== undefined && file !== "") {
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new UsageError(
        `cannot read the secret file ${file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return text.trim();
  }
  const secret = io.env.MG_SYNC_HUB_SECRET;
  return secret === undefined || secret === "" ? undefined : secret;
}

function parsePermissions(flag: string, text: string): [string, Permission[]] {
  const eq = text.lastIndexOf("=");
  if (eq <= 0) throw new UsageError(`--${flag} expects NAME=PERMS, got ${JSON.stringify(text)}`);
  const perms = text
    .slice(eq + 1)
    .split(",")
    .map((p) => p.trim());
  for (const perm of perms)
    if (perm !== "read" && perm !== "write" && perm !== "manage")
      throw new UsageError(`--${flag}: unknown permission ${JSON.stringify(perm)} (read, write, manage)`);
  return [text.slice(0, eq), perms as Permission[]];
}

function tokenCommand(args: string[], io: CliIo): CliResult {
  const values = parseOptions(TOKEN_FLAGS, args);
  const user = values.user;
  if (typeof user !== "string") throw new UsageError("token: --user is required");
  const secret = readSecret(values, io);
  if (secret === undefined) throw new UsageError("token: no secret (--secret-file or MG_SYNC_HUB_SECRET)");
  const ttlSeconds = parseDurationSeconds(typeof values.ttl === "string" ? values.ttl : "24h");
  const base: TokenGrants = values.bare === true ? {} : userTokenGrants(user);
  const channels: Record<string, readonly Permission[]> = { ...base.channels };
  const channelPatterns: Record<string, readonly Permission[]> = { ...base.channelPatterns };
  const groups: Record<string, readonly Permission[]> = { ...base.groups };
  for (const text of (values.grant as string[] | undefined) ?? []) {
    const [name, perms] = parsePermissions("grant", text);
    if (name.includes("*")) channelPatterns[name] = perms;
    else channels[name] = perms;
  }
  for (const text of (values["group-grant"] as string[] | undefined) ?? []) {
    const [name, perms] = parsePermissions("group-grant", text);
    groups[name] = perms;
  }
  let minted: ReturnType<typeof mintToken>;
  try {
    minted = mintToken(secret, {
      userId: user,
      ttlSeconds,
      grants: { channels, channelPatterns, groups },
      ...(typeof values["token-id"] === "string" ? { tokenId: values["token-id"] } : {}),
    });
  } catch (error) {
    throw new UsageError(`token: ${error instanceof Error ? error.message : String(error)}`);
  }
  io.stdout(`${minted.token}\n`);
  io.stderr(
    `${JSON.stringify({ tokenId: minted.claims.tid, userId: user, expiresAt: new Date(minted.claims.exp * 1000).toISOString() })}\n`,
  );
  return { exitCode: 0 };
}

async function serveCommand(args: string[], io: CliIo): Promise<CliResult> {
  const values = parseOptions(SERVE_FLAGS, args);
  const get = (flag: string): string | boolean | undefined =>
    flagValue(values, SERVE_FLAGS.find((spec) => spec.flag === flag)!, io.env);
  const logLevel = (get("log-level") ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  const logger = jsonLineLogger(io.stdout, { level: logLevel });
  const options: { -readonly [K in keyof WsHubOptions]: WsHubOptions[K] } = { logger };
  for (const key of Object.keys(WS_HUB_DEFAULTS) as Limit[]) {
    const text = get(kebab(key));
    if (typeof text === "string") options[key] = number(kebab(key), text);
  }
  const path = get("path");
  if (typeof path === "string") options.path = path;
  const secret = readSecret(values, io);
  if (secret !== undefined) options.secret = secret;
  else if (get("insecure") === true) options.insecure = true;
  else
    throw new UsageError(
      "serve: no secret. Put one in a file (--secret-file) or MG_SYNC_HUB_SECRET (make one with `mg-sync-hub secret`), or pass --insecure to run without access control",
    );
  const portText = get("port");
  const port = typeof portText === "string" ? Number(portText) : 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port must be 0..65535, got ${String(portText)}`);
  const host = get("host");
  let hub: WsHub;
  try {
    hub = new WsHub(options);
  } catch (error) {
    throw new UsageError(`serve: ${error instanceof Error ? error.message : String(error)}`);
  }
  const revocationsFile = get("revocations-file");
  const readFile = io.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  const reloadRevocations = (): void => {
    if (typeof revocationsFile !== "string") return;
    try {
      const ids = readFile(revocationsFile)
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#"));
      for (const id of ids) hub.revokeToken(id);
      logger({ level: "info", event: "revocations-loaded", count: ids.length });
    } catch (error) {
      logger({
        level: "error",
        event: "revocations-unreadable",
        file: revocationsFile,
        error: String(error),
      });
    }
  };
  reloadRevocations();
  await hub.listen(port, typeof host === "string" ? host : "127.0.0.1");
  return { exitCode: 0, hub, reloadRevocations };
}

/** Runs one command. Usage errors print a message and `--help`'s hint, with exit code 2. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<CliResult> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "--help":
      case "-h":
      case "help":
        io.stdout(helpText());
        return { exitCode: command === undefined ? 2 : 0 };
      case "serve":
        if (rest.includes("--help")) {
          io.stdout(helpText());
          return { exitCode: 0 };
        }
        return await serveCommand(rest, io);
      case "token":
        return tokenCommand(rest, io);
      case "secret":
        io.stdout(`${randomBytes(32).toString("base64url")}\n`);
        return { exitCode: 0 };
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`mg-sync-hub: ${error.message}\nRun \`mg-sync-hub --help\` for usage.\n`);
    return { exitCode: 2 };
  }
}
