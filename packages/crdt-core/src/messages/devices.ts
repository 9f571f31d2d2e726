/**
 * The `user.{userId}.devices` family (spec 2.1): a device announces itself (`device_join`,
 * spec 6.1), proves it is alive (`device_heartbeat`, spec 3.3) and says goodbye
 * (`device_leave`, spec 8.2). Remote commands travel on the same channel but live in
 * `commands.ts`. None of these is a CRDT; the presence tracker (`../presence.ts`) makes
 * duplicates and reordering harmless by comparing each device's own HLC timestamps.
 *
 * Spec `Option<T>` fields (`screen_size`, `battery_level`) may be absent or `null`, both
 * meaning "none", as serde reads them and as every other family here treats them. Fields we
 * add (`heartbeat_interval`, `reason`) are optional, and an absent one stays absent after
 * validation.
 */
import { array, boolean, type Check, integer, literal, nullable, number, object, oneOf } from "../schema.js";
import {
  type DevicePlatform,
  type DeviceType,
  devicePlatform,
  deviceType,
  hlcTimestamp,
  id,
  nonEmptyLabel,
} from "./common.js";
import { fraction } from "./sync.js";

// ---------------------------------------------------------------------------------------------
// Capabilities (spec 3.3)

export const VIDEO_RESOLUTIONS = ["SD", "HD", "FHD", "UHD_4K", "UHD_8K"] as const;
export type VideoResolution = (typeof VIDEO_RESOLUTIONS)[number];
export const videoResolution = oneOf(VIDEO_RESOLUTIONS);

export const AUDIO_CODECS = ["AAC", "Dolby_Atmos", "DTS_X"] as const;
export type AudioCodec = (typeof AUDIO_CODECS)[number];
export const audioCodec = oneOf(AUDIO_CODECS);

export const HDR_FORMATS = ["HDR10", "Dolby_Vision", "HLG"] as const;
export type HdrFormat = (typeof HDR_FORMATS)[number];
export const hdrFormat = oneOf(HDR_FORMATS);

/** Longest codec / HDR list accepted: room for repeats and future formats, never a flood. */
export const MAX_CAPABILITY_LIST = 16;
/** Largest screen diagonal in inches we believe (a cinema wall, not a typo of 6500). */
export const MAX_SCREEN_SIZE_INCHES = 1000;

export interface DeviceCapabilities {
  readonly max_resolution: VideoResolution;
  readonly audio_codecs: readonly AudioCodec[];
  readonly hdr_support: readonly HdrFormat[];
  /** May receive `remote_command`s (spec 6.3 rejects commands otherwise). */
  readonly remote_controllable: boolean;
  readonly can_cast: boolean;
  /** Inches; `null` for audio-only devices. */
  readonly screen_size?: number | null;
}

export const checkDeviceCapabilities: Check<DeviceCapabilities> = object(
  {
    max_resolution: videoResolution,
    audio_codecs: array(audioCodec, { max: MAX_CAPABILITY_LIST }),
    hdr_support: array(hdrFormat, { max: MAX_CAPABILITY_LIST }),
    remote_controllable: boolean,
    can_cast: boolean,
  },
  { screen_size: nullable(number({ min: 0, max: MAX_SCREEN_SIZE_INCHES })) },
);

// ---------------------------------------------------------------------------------------------
// Heartbeat interval (DEVIATIONS 7)

/** Spec 6.2: a foreground device heartbeats every 30 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_SEC = 30;
/** One hour: longer than spec 8.2's 300 s background period, short enough to notice a dead TV. */
export const MAX_HEARTBEAT_INTERVAL_SEC = 3600;

/**
 * Seconds between this device's heartbeats. The spec's fixed 60 s timeout makes a backgrounded
 * device (300 s, spec 8.2) flap offline; announcing the period lets peers wait two of the
 * device's own intervals instead (DEVIATIONS 7).
 */
export const heartbeatInterval: Check<number> = integer({ min: 1, max: MAX_HEARTBEAT_INTERVAL_SEC });

// ---------------------------------------------------------------------------------------------
// device_join (spec 6.1)

export interface DeviceJoinMessage {
  readonly msg_type: "device_join";
  readonly device_id: string;
  readonly device_type: DeviceType;
  readonly platform: DevicePlatform;
  readonly app_version: string;
  readonly capabilities: DeviceCapabilities;
  /** The joining device's HLC. */
  readonly timestamp: number;
  /** The device has no local state yet and will ask for reconciliation (spec 6.4). */
  readonly initial_sync_required: boolean;
  /**
   * Seconds; absent means `DEFAULT_HEARTBEAT_INTERVAL_SEC` (30) for this session, since a
   * join starts a new session (DEVIATIONS 7).
   */
  readonly heartbeat_interval?: number;
}

export const checkDeviceJoin: Check<DeviceJoinMessage> = object(
  {
    msg_type: literal("device_join"),
    device_id: id,
    device_type: deviceType,
    platform: devicePlatform,
    app_version: nonEmptyLabel,
    capabilities: checkDeviceCapabilities,
    timestamp: hlcTimestamp,
    initial_sync_required: boolean,
  },
  { heartbeat_interval: heartbeatInterval },
);

// ---------------------------------------------------------------------------------------------
// device_heartbeat (spec 3.3)

/** Spec 3.3: 1 (poor) to 5 (excellent). */
export const networkQuality: Check<number> = integer({ min: 1, max: 5 });

export interface DeviceHeartbeatMessage {
  readonly msg_type: "device_heartbeat";
  readonly device_id: string;
  readonly device_type: DeviceType;
  readonly capabilities: DeviceCapabilities;
  readonly app_version: string;
  readonly platform: DevicePlatform;
  /** The device's HLC at its last user activity. */
  readonly last_active: number;
  /** 0..1; `null` for devices without a battery. */
  readonly battery_level?: number | null;
  /** 1..5. */
  readonly network_quality: number;
  /**
   * Seconds until the next heartbeat. Absent means "unchanged": the interval the device last
   * announced this session, or 30 if it never did (DEVIATIONS 7).
   */
  readonly heartbeat_interval?: number;
}

export const checkDeviceHeartbeat: Check<DeviceHeartbeatMessage> = object(
  {
    msg_type: literal("device_heartbeat"),
    device_id: id,
    device_type: deviceType,
    capabilities: checkDeviceCapabilities,
    app_version: nonEmptyLabel,
    platform: devicePlatform,
    last_active: hlcTimestamp,
    network_quality: networkQuality,
  },
  { battery_level: nullable(fraction), heartbeat_interval: heartbeatInterval },
);

// ---------------------------------------------------------------------------------------------
// device_leave (spec 2.1 and 8.2 name it; the payload is ours)

/**
 * Reasons our clients send. The wire accepts any id-shaped string, so a newer peer's new
 * reason never turns a graceful leave into a rejected message (and a 60 s ghost device).
 */
export const DEVICE_LEAVE_REASONS = ["user_exit", "background_terminate", "logout", "app_update"] as const;
export type KnownDeviceLeaveReason = (typeof DEVICE_LEAVE_REASONS)[number];
/** A known reason, or another id-shaped string from a newer peer. */
export type DeviceLeaveReason = KnownDeviceLeaveReason | (string & {});

export interface DeviceLeaveMessage {
  readonly msg_type: "device_leave";
  readonly device_id: string;
  /**
   * The leaving device's HLC. Peers compare it with the same device's join and heartbeat
   * timestamps (one clock, so the comparison is sound) to ignore a stale duplicate.
   */
  readonly timestamp: number;
  /** Diagnostic only; absent means unspecified. Never changes how peers treat the leave. */
  readonly reason?: DeviceLeaveReason;
}

export const checkDeviceLeave: Check<DeviceLeaveMessage> = object(
  { msg_type: literal("device_leave"), device_id: id, timestamp: hlcTimestamp },
  { reason: id },
);

// ---------------------------------------------------------------------------------------------

export const deviceMessageChecks = {
  device_join: checkDeviceJoin,
  device_leave: checkDeviceLeave,
  device_heartbeat: checkDeviceHeartbeat,
} as const;

export type DeviceMessage = DeviceJoinMessage | DeviceLeaveMessage | DeviceHeartbeatMessage;
