/**
 * What a device keeps across restarts (spec 5.3 "cache last known state locally", 9.2
 * "on-demand snapshot on app background / terminate"): its sync state, its HLC, the last
 * timetoken it saw per channel (where history catch-up starts), the sync deltas it made
 * but the transport never acknowledged (published again on restore, so an app killed during a
 * partition loses nothing), whether it still owes itself a reconciliation, and the ids of the
 * commands it already decided.
 *
 * JSON-safe by construction; `parseSyncClientSnapshot` validates one read back from storage
 * and throws `SnapshotError` naming the field.
 */
import {
  type Hlc,
  isHlc,
  isTimetoken,
  parseMessage,
  type SyncMessage,
  syncStateFromJSON,
  type Timetoken,
  type UserSyncState,
  type UserSyncStateJSON,
  ValidationError,
} from "@mg-sync/crdt-core";

export const SNAPSHOT_VERSION = 1;

export interface SyncClientSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  readonly deviceId: string;
  readonly state: UserSyncStateJSON;
  /** The last timestamp the device issued or received: its HLC restarts from here. */
  readonly hlc: Hlc;
  /** Channel → the newest timetoken of a stored message seen there. */
  readonly lastTimetokens: Readonly<Record<string, Timetoken>>;
  /** Sync deltas made here and not acknowledged yet, oldest first. */
  readonly pending: readonly SyncMessage[];
  /**
   * A reconciliation is owed: asked for (or due) and not answered whole yet. Restored, the
   * client asks again at start, whatever its timetokens say. Absent: false (older snapshots).
   */
  readonly needsReconciliation?: boolean;
  /**
   * Ids of the remote commands already decided here, oldest first (the dedup window, DEVIATIONS
   * 8): a restart within a command's lifetime must not run it again. Absent: none.
   */
  readonly commandIds?: readonly string[];
}

/** A snapshot that cannot be restored; `path` names the field (`state.watchlist.context`, …). */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(path === "" ? `invalid snapshot: ${reason}` : `invalid snapshot: ${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

/** A validated snapshot together with the state it holds (parsed once). */
export interface RestoredSnapshot {
  readonly snapshot: SyncClientSnapshot;
  readonly state: UserSyncState;
}

const SYNC_TYPES: ReadonlySet<string> = new Set([
  "watch_progress_update",
  "watchlist_update",
  "preference_update",
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Validates `json` as the snapshot of device `deviceId` (when given). Throws `SnapshotError`. */
export function restoreSnapshot(json: unknown, deviceId?: string): RestoredSnapshot {
  if (!isRecord(json)) throw new SnapshotError("", "expected an object");
  if (json.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError("version", `expected ${SNAPSHOT_VERSION}, got ${JSON.stringify(json.version)}`);
  }
  if (typeof json.deviceId !== "string" || json.deviceId.length === 0) {
    throw new SnapshotError("deviceId", "expected a non-empty string");
  }
  if (deviceId !== undefined && json.deviceId !== deviceId) {
    // Another device's state under this device's id would publish its HLC and pending deltas
    // as ours.
    throw new SnapshotError("deviceId", `the snapshot is of ${json.deviceId}, not of ${deviceId}`);
  }
  let state: UserSyncState;
  try {
    state = syncStateFromJSON(json.state);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new SnapshotError(error.path === "" ? "state" : `state.${error.path}`, error.reason, {
        cause: error,
      });
    }
    throw new SnapshotError("state", error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
  if (!isHlc(json.hlc))
    throw new SnapshotError("hlc", "expected an HLC timestamp (non-negative safe integer)");
  if (!isRecord(json.lastTimetokens)) throw new SnapshotError("lastTimetokens", "expected an object");
  const lastTimetokens: Record<string, Timetoken> = {};
  for (const [channel, timetoken] of Object.entries(json.lastTimetokens)) {
    if (!isTimetoken(timetoken)) throw new SnapshotError(`lastTimetokens.${channel}`, "expected a timetoken");
    Object.defineProperty(lastTimetokens, channel, { value: timetoken, enumerable: true, writable: true });
  }
  const pendingJson = json.pending ?? [];
  if (!Array.isArray(pendingJson)) throw new SnapshotError("pending", "expected an array");
  const pending: SyncMessage[] = [];
  for (let i = 0; i < pendingJson.length; i++) {
    const parsed = parseMessage(pendingJson[i]);
    if (!parsed.ok) {
      const { path, reason } = parsed.error;
      throw new SnapshotError(path === "" ? `pending[${i}]` : `pending[${i}].${path}`, reason);
    }
    const message = parsed.value;
    if (!SYNC_TYPES.has(message.msg_type)) {
      throw new SnapshotError(`pending[${i}].msg_type`, `expected a sync delta, got ${message.msg_type}`);
    }
    const syncMessage = message as SyncMessage;
    if (syncMessage.device_id !== json.deviceId) {
      throw new SnapshotError(`pending[${i}].device_id`, `expected ${json.deviceId}, the snapshot's device`);
    }
    pending.push(syncMessage);
  }
  const needsReconciliation = json.needsReconciliation ?? false;
  if (typeof needsReconciliation !== "boolean") {
    throw new SnapshotError("needsReconciliation", "expected a boolean");
  }
  const commandIdsJson = json.commandIds ?? [];
  if (!Array.isArray(commandIdsJson)) throw new SnapshotError("commandIds", "expected an array");
  const commandIds: string[] = [];
  for (let i = 0; i < commandIdsJson.length; i++) {
    const id: unknown = commandIdsJson[i];
    if (typeof id !== "string" || id.length === 0) {
      throw new SnapshotError(`commandIds[${i}]`, "expected a non-empty string");
    }
    commandIds.push(id);
  }
  const snapshot: SyncClientSnapshot = {
    version: SNAPSHOT_VERSION,
    deviceId: json.deviceId,
    state: json.state as UserSyncStateJSON,
    hlc: json.hlc,
    lastTimetokens,
    pending,
    ...(needsReconciliation ? { needsReconciliation } : {}),
    ...(commandIds.length > 0 ? { commandIds } : {}),
  };
  return { snapshot, state };
}

/** Validates a snapshot read back from storage. Throws `SnapshotError`. */
export function parseSyncClientSnapshot(json: unknown): SyncClientSnapshot {
  return restoreSnapshot(json).snapshot;
}
