/**
 * The reference semantics, computed from the operation log alone (no CRDT code of crdt-core):
 *
 * - watch progress and preferences: per key, the operation with the greatest
 *   `(timestamp, device_id)` wins (DEVIATIONS 3; `device_id` compared by UTF-16 code units); a
 *   `null` preference is a deletion that still wins by its stamp;
 * - the watchlist: add-wins observed-remove (DEVIATIONS 4): an add is live unless some
 *   operation in the log observed its dot (a remove, or a later add of the same title that
 *   supersedes it); the causal context is every dot the log mentions (DEVIATIONS 5: no
 *   tombstones, only dots).
 *
 * Both the oracle and a device's snapshot are put in one canonical form (`CanonicalState`), so
 * a mismatch reads as a JSON diff: which title, which dot, which stamp.
 */
import type {
  PreferenceUpdateMessage,
  UserSyncStateJSON,
  WatchlistUpdateMessage,
  WatchProgressUpdateMessage,
} from "@mg-sync/crdt-core";

export type SyncOperation = WatchProgressUpdateMessage | WatchlistUpdateMessage | PreferenceUpdateMessage;

const OPERATION_TYPES: ReadonlySet<string> = new Set([
  "watch_progress_update",
  "watchlist_update",
  "preference_update",
]);

export function isSyncOperation(payload: unknown): payload is SyncOperation {
  return (
    typeof payload === "object" &&
    payload !== null &&
    OPERATION_TYPES.has((payload as { msg_type?: unknown }).msg_type as string)
  );
}

export interface Register {
  readonly value?: unknown;
  readonly deleted?: true;
  readonly ts: number;
  readonly node: string;
}

export interface CanonicalState {
  readonly progress: Record<string, Register>;
  readonly preferences: Record<string, Register>;
  /** Title → its live dots `[replica, counter, payload]`, by replica then counter. */
  readonly watchlist: Record<string, Array<readonly [string, number, unknown]>>;
  /** Every dot seen, as `replica#counter`, sorted. */
  readonly context: string[];
}

function wins(candidate: Register, current: Register | undefined): boolean {
  if (current === undefined) return true;
  if (candidate.ts !== current.ts) return candidate.ts > current.ts;
  return candidate.node > current.node;
}

function byKey<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function dotKey(replica: string, counter: number): string {
  return `${replica}#${counter}`;
}

function byDot(a: readonly [string, number, unknown], b: readonly [string, number, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
}

/** What every replica must hold once it has seen every operation of `log` (duplicates allowed). */
export function oracleState(log: readonly SyncOperation[]): CanonicalState {
  const progress = new Map<string, Register>();
  const preferences = new Map<string, Register>();
  const observed = new Set<string>();
  const context = new Set<string>();
  const adds = new Map<string, { title: string; dot: readonly [string, number, unknown] }>();
  for (const op of log) {
    switch (op.msg_type) {
      case "watch_progress_update": {
        const candidate: Register = {
          value: {
            progress_seconds: op.progress_seconds,
            duration_seconds: op.duration_seconds,
            completion_percent: op.completion_percent,
            state: op.state,
            device_type: op.device_type,
          },
          ts: op.timestamp,
          node: op.device_id,
        };
        if (wins(candidate, progress.get(op.content_id))) progress.set(op.content_id, candidate);
        break;
      }
      case "preference_update": {
        const candidate: Register =
          op.value === null
            ? { deleted: true, ts: op.timestamp, node: op.device_id }
            : { value: op.value, ts: op.timestamp, node: op.device_id };
        if (wins(candidate, preferences.get(op.key))) preferences.set(op.key, candidate);
        break;
      }
      case "watchlist_update": {
        for (const [replica, counter] of op.observed ?? []) {
          observed.add(dotKey(replica, counter));
          context.add(dotKey(replica, counter));
        }
        if (op.operation === "Add" && op.dot !== undefined) {
          const [replica, counter] = op.dot;
          const payload =
            op.content_metadata === undefined
              ? { added_at: op.timestamp, added_by: op.device_id }
              : { added_at: op.timestamp, added_by: op.device_id, content_metadata: op.content_metadata };
          adds.set(dotKey(replica, counter), { title: op.content_id, dot: [replica, counter, payload] });
          context.add(dotKey(replica, counter));
        }
        break;
      }
    }
  }
  const watchlist = new Map<string, Array<readonly [string, number, unknown]>>();
  for (const [key, add] of adds) {
    if (observed.has(key)) continue;
    const dots = watchlist.get(add.title) ?? [];
    dots.push(add.dot);
    watchlist.set(add.title, dots);
  }
  for (const dots of watchlist.values()) dots.sort(byDot);
  return {
    progress: byKey(progress),
    preferences: byKey(preferences),
    watchlist: byKey(watchlist),
    context: [...context].sort(),
  };
}

/** A device's sync state (its snapshot's JSON form) in the oracle's canonical form. */
export function canonicalState(state: UserSyncStateJSON): CanonicalState {
  const register = (entry: { value?: unknown; deleted?: true; ts: number; node: string }): Register =>
    entry.deleted === true
      ? { deleted: true, ts: entry.ts, node: entry.node }
      : { value: entry.value, ts: entry.ts, node: entry.node };
  const context: string[] = [];
  for (const [replica, n] of Object.entries(state.watchlist.context.vv)) {
    for (let counter = 1; counter <= n; counter++) context.push(dotKey(replica, counter));
  }
  for (const [replica, counters] of Object.entries(state.watchlist.context.cloud)) {
    for (const counter of counters) context.push(dotKey(replica, counter));
  }
  return {
    progress: byKey(Object.entries(state.progress.entries).map(([k, e]) => [k, register(e)] as const)),
    preferences: byKey(Object.entries(state.preferences.entries).map(([k, e]) => [k, register(e)] as const)),
    watchlist: byKey(
      Object.entries(state.watchlist.entries).map(
        ([title, dots]) => [title, dots.map((d) => [d[0], d[1], d[2]] as const).sort(byDot)] as const,
      ),
    ),
    context: context.sort(),
  };
}
