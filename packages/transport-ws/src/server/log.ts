/**
 * Structured logs: one JSON object per line, so `jq` and log shippers read them as they are.
 * The hub hands entries to a `HubLogger`; `jsonLineLogger` is the one the CLI uses.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogEntry {
  readonly level: LogLevel;
  /** What happened, as a stable kebab-case name (`listening`, `auth-failed`, `slow-consumer`). */
  readonly event: string;
  readonly [field: string]: unknown;
}

export type HubLogger = (entry: LogEntry) => void;

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Writes entries at or above `level` as JSON lines: `{"time":…,"level":…,"event":…,…}`. */
export function jsonLineLogger(
  write: (line: string) => void,
  options: { readonly level?: LogLevel; readonly now?: () => number } = {},
): HubLogger {
  const { level = "info", now = Date.now } = options;
  const min = LEVEL_RANK[level];
  return (entry) => {
    if (LEVEL_RANK[entry.level] < min) return;
    write(`${JSON.stringify({ time: new Date(now()).toISOString(), ...entry })}\n`);
  };
}

/** Discards everything: the default of a hub used as a library. */
export const silentLogger: HubLogger = () => {};
