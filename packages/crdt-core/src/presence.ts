/**
 * Who is online and what each device is doing (spec 6.2, 8), as a pure value: the runtime
 * feeds it validated `user.{id}.devices` messages and transport presence events with the local
 * time, and ticks it; it returns a new tracker plus the presence events the change caused.
 *
 * Liveness (DEVIATIONS 7): a device is offline once two of ITS OWN announced heartbeat
 * intervals pass without a sign of life (join, heartbeat, transport join), so a backgrounded
 * device heartbeating every 300 s stays online for 600 s, not the spec's fixed 60 s. A graceful
 * leave (ours or the transport's) takes it offline at once. A transport `timeout` is ignored:
 * the transport's timeout is its own fixed period, exactly the flapping DEVIATIONS 7 removes.
 *
 * Time: `nowMs` is the local wall time the input arrived (for a message fetched from history,
 * its publish time). A device's own timestamps are compared only with the same device's
 * timestamps (one clock), never with `nowMs` (DEVIATIONS 8). Last-seen never goes backwards.
 *
 * Duplicates and reordering (DEVIATIONS 6): a leave stamped no later than the device's latest
 * join / heartbeat activity is stale and ignored, and so is a join or heartbeat no later than
 * an unanswered leave; presence states are last-writer-wins on `last_update`. Events are
 * emitted on transitions only, so a duplicate never emits twice.
 *
 * Events are `presence_event` messages (the same shape a transport delivers), stamped
 * `floor(nowMs) * 1000` and carrying the tracker's occupancy after the change.
 */
import type { DevicePlatform, DeviceType } from "./messages/common.js";
import {
  DEFAULT_HEARTBEAT_INTERVAL_SEC,
  type DeviceCapabilities,
  type DeviceHeartbeatMessage,
  type DeviceJoinMessage,
  type DeviceLeaveMessage,
} from "./messages/devices.js";
import {
  activityContentId,
  activityEquals,
  type DeviceActivity,
  type DevicePresenceState,
  type PresenceEventMessage,
} from "./messages/presence.js";

/** Spec 6.2: "2 missed heartbeats = offline", counted in the device's own interval. */
export const MISSED_HEARTBEATS_BEFORE_OFFLINE = 2;

/** Everything the tracker knows about one device. */
export interface DeviceView {
  readonly deviceId: string;
  readonly online: boolean;
  /** `null` until a join, heartbeat or presence state says. */
  readonly deviceType: DeviceType | null;
  readonly platform: DevicePlatform | null;
  readonly appVersion: string | null;
  readonly capabilities: DeviceCapabilities | null;
  /** From the latest presence state; `"Idle"` until one arrives. */
  readonly activity: DeviceActivity;
  /** The content it is watching or has paused (spec 6.3 `current_content`), from `activity`. */
  readonly currentContent: string | null;
  readonly batteryLevel: number | null;
  readonly networkQuality: number | null;
  /** The interval it announced this session (DEVIATIONS 7); 30 until it announces one. */
  readonly heartbeatIntervalSec: number;
  /** Local ms of the last sign of life or graceful leave; `null` if never heard from directly. */
  readonly lastSeenMs: number | null;
  /** Local ms at which an online device goes offline unless heard from; `Infinity` when offline. */
  readonly offlineAtMs: number;
  /** The device's own HLC: latest join `timestamp` / heartbeat `last_active` seen. */
  readonly aliveAt: number | null;
  /** The device's own HLC of a leave not yet superseded by a later join or heartbeat. */
  readonly leftAt: number | null;
  /** `last_update` of the presence state applied (last writer wins). */
  readonly stateUpdatedAt: number | null;
}

export interface PresenceTracker {
  readonly devices: ReadonlyMap<string, DeviceView>;
  /** Devices online now. */
  readonly occupancy: number;
  /** Earliest `offlineAtMs` of an online device (`Infinity` if none): when to tick next. */
  readonly nextOfflineAtMs: number;
}

/** A device sets its own presence state (spec 8.1 `set_device_presence_state`); not a wire message. */
export interface PresenceSetState {
  readonly kind: "set_state";
  readonly device_id: string;
  readonly state: DevicePresenceState;
}

export type PresenceInput =
  | DeviceJoinMessage
  | DeviceHeartbeatMessage
  | DeviceLeaveMessage
  | PresenceEventMessage
  | PresenceSetState;

export interface PresenceUpdate {
  readonly tracker: PresenceTracker;
  /** In the order they happened; shared and empty when nothing changed. */
  readonly events: readonly PresenceEventMessage[];
}

const NO_EVENTS: readonly PresenceEventMessage[] = Object.freeze([]);

export function presenceEmpty(): PresenceTracker {
  return { devices: new Map(), occupancy: 0, nextOfflineAtMs: Number.POSITIVE_INFINITY };
}

/** Takes offline every device whose two own intervals have passed by `nowMs`. */
export function presenceTick(tracker: PresenceTracker, nowMs: number): PresenceUpdate {
  const stamp = eventTimestamp(nowMs);
  // The common case, a tick with nobody due, allocates nothing.
  if (nowMs < tracker.nextOfflineAtMs) return { tracker, events: NO_EVENTS };
  const due: DeviceView[] = [];
  for (const view of tracker.devices.values()) if (view.online && view.offlineAtMs <= nowMs) due.push(view);
  // Deterministic event order whatever the insertion order: by deadline, then device id.
  due.sort((a, b) => a.offlineAtMs - b.offlineAtMs || compareIds(a.deviceId, b.deviceId));
  const devices = new Map(tracker.devices);
  const events: PresenceEventMessage[] = [];
  let occupancy = tracker.occupancy;
  for (const view of due) {
    devices.set(view.deviceId, { ...view, online: false, offlineAtMs: Number.POSITIVE_INFINITY });
    occupancy--;
    events.push(event("timeout", view.deviceId, occupancy, stamp));
  }
  return { tracker: { devices, occupancy, nextOfflineAtMs: earliestOfflineAt(devices) }, events };
}

/** Ticks to `nowMs`, then applies one validated input received at `nowMs`. */
export function presenceApply(tracker: PresenceTracker, input: PresenceInput, nowMs: number): PresenceUpdate {
  const ticked = presenceTick(tracker, nowMs);
  const applied = applyInput(ticked.tracker, input, nowMs, eventTimestamp(nowMs));
  if (applied === undefined) return ticked;
  const events = ticked.events.length === 0 ? applied.events : [...ticked.events, ...applied.events];
  return { tracker: applied.tracker, events };
}

// ---------------------------------------------------------------------------------------------

/** `undefined` when the input changes nothing (stale, duplicate, or ignored). */
function applyInput(
  tracker: PresenceTracker,
  input: PresenceInput,
  nowMs: number,
  stamp: number,
): PresenceUpdate | undefined {
  if ("kind" in input) return applyState(tracker, input.device_id, input.state, stamp);
  const prev = tracker.devices.get(input.device_id);
  switch (input.msg_type) {
    case "device_join": {
      if (prev?.leftAt != null && input.timestamp <= prev.leftAt) return undefined;
      const base = prev ?? newDevice(input.device_id);
      return setAlive(
        tracker,
        {
          ...base,
          deviceType: input.device_type,
          platform: input.platform,
          appVersion: input.app_version,
          capabilities: input.capabilities,
          // A join starts a session: an unannounced interval is the default again.
          heartbeatIntervalSec: input.heartbeat_interval ?? DEFAULT_HEARTBEAT_INTERVAL_SEC,
          aliveAt: maxOrSelf(base.aliveAt, input.timestamp),
          leftAt: null,
        },
        prev,
        nowMs,
        stamp,
      );
    }
    case "device_heartbeat": {
      if (prev?.leftAt != null && input.last_active <= prev.leftAt) return undefined;
      const base = prev ?? newDevice(input.device_id);
      return setAlive(
        tracker,
        {
          ...base,
          deviceType: input.device_type,
          platform: input.platform,
          appVersion: input.app_version,
          capabilities: input.capabilities,
          batteryLevel: input.battery_level ?? null,
          networkQuality: input.network_quality,
          heartbeatIntervalSec: input.heartbeat_interval ?? base.heartbeatIntervalSec,
          aliveAt: maxOrSelf(base.aliveAt, input.last_active),
          leftAt: null,
        },
        prev,
        nowMs,
        stamp,
      );
    }
    case "device_leave": {
      // A leave from a device we never saw changes nothing we show; don't keep a ghost entry.
      if (prev === undefined) return undefined;
      if (prev.aliveAt !== null && input.timestamp <= prev.aliveAt) return undefined;
      return setGone(tracker, prev, maxOrSelf(prev.leftAt, input.timestamp), nowMs, stamp);
    }
    case "presence_event":
      switch (input.action) {
        case "join": {
          const base = prev ?? newDevice(input.device_id);
          const alive = setAlive(tracker, { ...base, leftAt: null }, prev, nowMs, stamp);
          if (input.state === undefined) return alive;
          const withState = applyState(alive.tracker, input.device_id, input.state, stamp);
          return withState === undefined ? alive : concat(alive, withState);
        }
        case "leave":
          return prev === undefined ? undefined : setGone(tracker, prev, prev.leftAt, nowMs, stamp);
        case "timeout":
          // Judged on the device's own interval by the tick above (DEVIATIONS 7).
          return undefined;
        case "state-change":
          return applyState(tracker, input.device_id, input.state, stamp);
      }
  }
}

function setAlive(
  tracker: PresenceTracker,
  next: DeviceView,
  prev: DeviceView | undefined,
  nowMs: number,
  stamp: number,
): PresenceUpdate {
  const lastSeenMs = next.lastSeenMs === null ? nowMs : Math.max(next.lastSeenMs, nowMs);
  const view: DeviceView = {
    ...next,
    online: true,
    lastSeenMs,
    offlineAtMs: lastSeenMs + MISSED_HEARTBEATS_BEFORE_OFFLINE * next.heartbeatIntervalSec * 1000,
  };
  const joined = prev?.online !== true;
  const occupancy = joined ? tracker.occupancy + 1 : tracker.occupancy;
  return {
    tracker: withDevice(tracker, view, occupancy),
    events: joined ? [event("join", view.deviceId, occupancy, stamp)] : NO_EVENTS,
  };
}

function setGone(
  tracker: PresenceTracker,
  prev: DeviceView,
  leftAt: number | null,
  nowMs: number,
  stamp: number,
): PresenceUpdate {
  const view: DeviceView = {
    ...prev,
    online: false,
    offlineAtMs: Number.POSITIVE_INFINITY,
    lastSeenMs: prev.lastSeenMs === null ? nowMs : Math.max(prev.lastSeenMs, nowMs),
    leftAt,
  };
  const occupancy = prev.online ? tracker.occupancy - 1 : tracker.occupancy;
  return {
    tracker: withDevice(tracker, view, occupancy),
    events: prev.online ? [event("leave", view.deviceId, occupancy, stamp)] : NO_EVENTS,
  };
}

/** Last writer wins on `last_update`; never touches liveness. */
function applyState(
  tracker: PresenceTracker,
  deviceId: string,
  state: DevicePresenceState,
  stamp: number,
): PresenceUpdate | undefined {
  const prev = tracker.devices.get(deviceId);
  if (prev?.stateUpdatedAt != null && state.last_update <= prev.stateUpdatedAt) return undefined;
  const base = prev ?? newDevice(deviceId);
  const view: DeviceView = {
    ...base,
    deviceType: state.device_type,
    appVersion: state.app_version,
    activity: state.activity,
    currentContent: activityContentId(state.activity),
    stateUpdatedAt: state.last_update,
  };
  const changed =
    prev === undefined ||
    !activityEquals(prev.activity, state.activity) ||
    prev.deviceType !== state.device_type ||
    prev.appVersion !== state.app_version;
  return {
    tracker: withDevice(tracker, view, tracker.occupancy),
    events: changed
      ? [
          {
            msg_type: "presence_event",
            action: "state-change",
            device_id: deviceId,
            occupancy: tracker.occupancy,
            timestamp: stamp,
            state,
          },
        ]
      : NO_EVENTS,
  };
}

function concat(first: PresenceUpdate, second: PresenceUpdate): PresenceUpdate {
  if (first.events.length === 0) return second;
  if (second.events.length === 0) return { tracker: second.tracker, events: first.events };
  return { tracker: second.tracker, events: [...first.events, ...second.events] };
}

function withDevice(tracker: PresenceTracker, view: DeviceView, occupancy: number): PresenceTracker {
  const devices = new Map(tracker.devices);
  devices.set(view.deviceId, view);
  return { devices, occupancy, nextOfflineAtMs: earliestOfflineAt(devices) };
}

function earliestOfflineAt(devices: ReadonlyMap<string, DeviceView>): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const view of devices.values()) if (view.offlineAtMs < earliest) earliest = view.offlineAtMs;
  return earliest;
}

function newDevice(deviceId: string): DeviceView {
  return {
    deviceId,
    online: false,
    deviceType: null,
    platform: null,
    appVersion: null,
    capabilities: null,
    activity: "Idle",
    currentContent: null,
    batteryLevel: null,
    networkQuality: null,
    heartbeatIntervalSec: DEFAULT_HEARTBEAT_INTERVAL_SEC,
    lastSeenMs: null,
    offlineAtMs: Number.POSITIVE_INFINITY,
    aliveAt: null,
    leftAt: null,
    stateUpdatedAt: null,
  };
}

function event(
  action: "join" | "leave" | "timeout",
  deviceId: string,
  occupancy: number,
  stamp: number,
): PresenceEventMessage {
  return { msg_type: "presence_event", action, device_id: deviceId, occupancy, timestamp: stamp };
}

function maxOrSelf(current: number | null, candidate: number): number {
  return current === null || candidate > current ? candidate : current;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `nowMs` as an HLC-shaped stamp (counter 0); misuse is a bug, so it throws. */
function eventTimestamp(nowMs: number): number {
  if (typeof nowMs !== "number" || !Number.isFinite(nowMs) || nowMs < 0) {
    throw new RangeError(`nowMs must be a finite non-negative number of ms, got ${String(nowMs)}`);
  }
  const stamp = Math.floor(nowMs) * 1000;
  if (!Number.isSafeInteger(stamp)) throw new RangeError(`nowMs is too large: ${nowMs}`);
  return stamp;
}
