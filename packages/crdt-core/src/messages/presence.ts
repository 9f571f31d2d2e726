/**
 * Presence (spec 6.2, 8.1): what a device is doing (`DevicePresenceState`, attached to
 * PubNub presence in the spec) and the join / leave / timeout / state-change events.
 *
 * The spec gives `PresenceEvent` only as a Rust enum, with no JSON. We write it as
 * `{ "msg_type": "presence_event", "action": "join" | "leave" | "timeout" | "state-change",
 * "device_id", "occupancy", "timestamp", "state"? }`, mirroring PubNub's own presence event
 * (`action`, `uuid`, `occupancy`, `timestamp`, `data`) with our field names. A transport
 * turns its native presence into this message; the presence tracker (`../presence.ts`) emits
 * the same shape, so one vocabulary covers both.
 */
import { type Check, externallyTagged, integer, literal, object, taggedUnion } from "../schema.js";
import { type DeviceType, deviceType, hlcTimestamp, id, nonEmptyLabel } from "./common.js";

// ---------------------------------------------------------------------------------------------
// DeviceActivity (spec 8.1): serde's default (externally tagged) enum form

export type DeviceActivity =
  | "Idle"
  | "Browsing"
  | { readonly Watching: { readonly content_id: string } }
  | { readonly Paused: { readonly content_id: string } };

export const checkDeviceActivity: Check<DeviceActivity> = externallyTagged(["Idle", "Browsing"] as const, {
  Watching: object({ content_id: id }),
  Paused: object({ content_id: id }),
});

/** The content a device has loaded (watching or paused), or `null`. */
export function activityContentId(activity: DeviceActivity): string | null {
  if (typeof activity === "string") return null;
  return "Watching" in activity ? activity.Watching.content_id : activity.Paused.content_id;
}

export function activityEquals(a: DeviceActivity, b: DeviceActivity): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if ("Watching" in a) return "Watching" in b && a.Watching.content_id === b.Watching.content_id;
  return "Paused" in b && a.Paused.content_id === b.Paused.content_id;
}

// ---------------------------------------------------------------------------------------------
// DevicePresenceState (spec 8.1)

export interface DevicePresenceState {
  readonly device_type: DeviceType;
  readonly activity: DeviceActivity;
  /** The device's HLC when it set this state; the later one wins (same clock, so comparable). */
  readonly last_update: number;
  readonly app_version: string;
}

export const checkDevicePresenceState: Check<DevicePresenceState> = object({
  device_type: deviceType,
  activity: checkDeviceActivity,
  last_update: hlcTimestamp,
  app_version: nonEmptyLabel,
});

// ---------------------------------------------------------------------------------------------
// presence_event (spec 6.2 PresenceEvent)

export const PRESENCE_ACTIONS = ["join", "leave", "timeout", "state-change"] as const;
export type PresenceAction = (typeof PRESENCE_ACTIONS)[number];

interface PresenceEventBase {
  readonly msg_type: "presence_event";
  readonly device_id: string;
  /** Devices online after this event, as counted by whoever emitted it. */
  readonly occupancy: number;
  /**
   * HLC-shaped (`wallMs * 1000 + counter`) time of the emitter's observation. The presence
   * tracker stamps `nowMs * 1000`; it is never compared with a device's own timestamps.
   */
  readonly timestamp: number;
}

/**
 * `state` rides on `join` (optional, as PubNub's join carries `data`) and `state-change`
 * (required, spec 6.2's `StateChange.state`); `leave` and `timeout` carry none. The spec's
 * `StateChange` has no occupancy; we send it on every action so a UI can show the count
 * from any event.
 */
export type PresenceEventMessage =
  | (PresenceEventBase & { readonly action: "join"; readonly state?: DevicePresenceState })
  | (PresenceEventBase & { readonly action: "leave" | "timeout" })
  | (PresenceEventBase & { readonly action: "state-change"; readonly state: DevicePresenceState });

/** Far above any household (spec 6.2 announces the first 25 devices), far below abuse. */
export const MAX_OCCUPANCY = 100_000;

const baseFields = {
  msg_type: literal("presence_event"),
  device_id: id,
  occupancy: integer({ min: 0, max: MAX_OCCUPANCY }),
  timestamp: hlcTimestamp,
} as const;

export const checkPresenceEvent: Check<PresenceEventMessage> = taggedUnion<PresenceEventMessage>("action", {
  join: object({ ...baseFields, action: literal("join") }, { state: checkDevicePresenceState }),
  leave: object({ ...baseFields, action: literal("leave") }),
  timeout: object({ ...baseFields, action: literal("timeout") }),
  "state-change": object({ ...baseFields, action: literal("state-change"), state: checkDevicePresenceState }),
});

export const presenceMessageChecks = {
  presence_event: checkPresenceEvent,
} as const;

export type PresenceMessage = PresenceEventMessage;
