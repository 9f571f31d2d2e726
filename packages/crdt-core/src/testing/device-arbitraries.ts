/**
 * fast-check arbitraries for the `user.{id}.devices` family and presence: every value they make
 * passes its check in `messages/devices.ts`, `messages/commands.ts` or `messages/presence.ts`.
 * Optional fields are sometimes absent (never `undefined`), ids include non-ASCII and
 * surrogate pairs, and numbers reach their bounds; `-0` is never made, since JSON turns it into
 * `0` and round-trip tests compare with `Object.is`.
 */
import fc from "fast-check";
import { MAX_COMMAND_TTL_MS, type RemoteCommand, type RemoteCommandMessage } from "../messages/commands.js";
import { DEVICE_PLATFORMS, DEVICE_TYPES, MAX_ID_LENGTH } from "../messages/common.js";
import {
  AUDIO_CODECS,
  DEVICE_LEAVE_REASONS,
  type DeviceCapabilities,
  type DeviceHeartbeatMessage,
  type DeviceJoinMessage,
  type DeviceLeaveMessage,
  HDR_FORMATS,
  MAX_HEARTBEAT_INTERVAL_SEC,
  MAX_SCREEN_SIZE_INCHES,
  VIDEO_RESOLUTIONS,
} from "../messages/devices.js";
import type { DeviceActivity, DevicePresenceState, PresenceEventMessage } from "../messages/presence.js";

const ID_UNITS = [..."abcdefxyzTV019", ":", "-", "_", ".", "é", "\u{1F4FA}"];

/** Wire ids: 1..40 characters, no whitespace or control characters. */
export function deviceIdArbitrary(): fc.Arbitrary<string> {
  return fc
    .string({ unit: fc.constantFrom(...ID_UNITS), minLength: 1, maxLength: 40 })
    .filter((s) => s.length <= MAX_ID_LENGTH);
}

/** HLC timestamps (DEVIATIONS 1), biased towards realistic values but reaching 0 and the max. */
export function hlcTimestampArbitrary(max: number = Number.MAX_SAFE_INTEGER): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: 0, max }),
    fc.integer({ min: Math.min(1_700_000_000_000_000, max), max: Math.min(1_800_000_000_000_000, max) }),
    fc.constantFrom(0, max),
  );
}

function fractionArbitrary(): fc.Arbitrary<number> {
  return fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0);
}

function versionArbitrary(): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(20), fc.nat(20), fc.nat(99)).map(([a, b, c]) => `${a}.${b}.${c}`);
}

export function deviceCapabilitiesArbitrary(): fc.Arbitrary<DeviceCapabilities> {
  return fc.record({
    max_resolution: fc.constantFrom(...VIDEO_RESOLUTIONS),
    audio_codecs: fc.array(fc.constantFrom(...AUDIO_CODECS), { maxLength: 4 }),
    hdr_support: fc.array(fc.constantFrom(...HDR_FORMATS), { maxLength: 4 }),
    remote_controllable: fc.boolean(),
    can_cast: fc.boolean(),
    screen_size: fc.option(
      fc.double({ min: 0, max: MAX_SCREEN_SIZE_INCHES, noNaN: true }).map((x) => x + 0),
      { nil: null },
    ),
  });
}

export function heartbeatIntervalArbitrary(): fc.Arbitrary<number> {
  return fc.oneof(fc.integer({ min: 1, max: MAX_HEARTBEAT_INTERVAL_SEC }), fc.constantFrom(30, 300));
}

export function deviceJoinArbitrary(): fc.Arbitrary<DeviceJoinMessage> {
  return fc.record(
    {
      msg_type: fc.constant("device_join" as const),
      device_id: deviceIdArbitrary(),
      device_type: fc.constantFrom(...DEVICE_TYPES),
      platform: fc.constantFrom(...DEVICE_PLATFORMS),
      app_version: versionArbitrary(),
      capabilities: deviceCapabilitiesArbitrary(),
      timestamp: hlcTimestampArbitrary(),
      initial_sync_required: fc.boolean(),
      heartbeat_interval: heartbeatIntervalArbitrary(),
    },
    {
      requiredKeys: [
        "msg_type",
        "device_id",
        "device_type",
        "platform",
        "app_version",
        "capabilities",
        "timestamp",
        "initial_sync_required",
      ],
    },
  );
}

export function deviceHeartbeatArbitrary(): fc.Arbitrary<DeviceHeartbeatMessage> {
  return fc.record(
    {
      msg_type: fc.constant("device_heartbeat" as const),
      device_id: deviceIdArbitrary(),
      device_type: fc.constantFrom(...DEVICE_TYPES),
      capabilities: deviceCapabilitiesArbitrary(),
      app_version: versionArbitrary(),
      platform: fc.constantFrom(...DEVICE_PLATFORMS),
      last_active: hlcTimestampArbitrary(),
      battery_level: fc.option(fractionArbitrary(), { nil: null }),
      network_quality: fc.integer({ min: 1, max: 5 }),
      heartbeat_interval: heartbeatIntervalArbitrary(),
    },
    {
      requiredKeys: [
        "msg_type",
        "device_id",
        "device_type",
        "capabilities",
        "app_version",
        "platform",
        "last_active",
        "battery_level",
        "network_quality",
      ],
    },
  );
}

export function deviceLeaveArbitrary(): fc.Arbitrary<DeviceLeaveMessage> {
  return fc.record(
    {
      msg_type: fc.constant("device_leave" as const),
      device_id: deviceIdArbitrary(),
      timestamp: hlcTimestampArbitrary(),
      reason: fc.oneof(fc.constantFrom(...DEVICE_LEAVE_REASONS), deviceIdArbitrary()),
    },
    { requiredKeys: ["msg_type", "device_id", "timestamp"] },
  );
}

export function remoteCommandArbitrary(): fc.Arbitrary<RemoteCommand> {
  const position = fc.oneof(fc.nat(10_000), fc.constant(0xffff_ffff));
  return fc.oneof(
    fc.constantFrom<RemoteCommand>(
      { type: "Play" },
      { type: "Pause" },
      { type: "Stop" },
      { type: "VolumeMute" },
      { type: "VolumeUnmute" },
    ),
    position.map((position_seconds): RemoteCommand => ({ type: "Seek", params: { position_seconds } })),
    fractionArbitrary().map((level): RemoteCommand => ({ type: "VolumeSet", params: { level } })),
    fc
      .record(
        { content_id: deviceIdArbitrary(), start_position: fc.option(position, { nil: null }) },
        { requiredKeys: ["content_id"] },
      )
      .map((params): RemoteCommand => ({ type: "LoadContent", params })),
    deviceIdArbitrary().map(
      (profile_id): RemoteCommand => ({ type: "SwitchProfile", params: { profile_id } }),
    ),
    fc
      .record({ target_device_id: deviceIdArbitrary(), content_id: deviceIdArbitrary() })
      .map((params): RemoteCommand => ({ type: "CastTo", params })),
  );
}

export interface RemoteCommandArbitraryOptions {
  /** Fix the command (e.g. `fc.constant({ type: "Seek", … })`); default any command. */
  readonly command?: fc.Arbitrary<RemoteCommand>;
  /** Fix the target device id; default any id. */
  readonly targetDeviceId?: fc.Arbitrary<string>;
}

export function remoteCommandMessageArbitrary(
  options: RemoteCommandArbitraryOptions = {},
): fc.Arbitrary<RemoteCommandMessage> {
  const maxTtl = MAX_COMMAND_TTL_MS * 1000;
  return fc
    .record(
      {
        target_device_id: options.targetDeviceId ?? deviceIdArbitrary(),
        source_device_id: deviceIdArbitrary(),
        command: options.command ?? remoteCommandArbitrary(),
        timestamp: hlcTimestampArbitrary(Number.MAX_SAFE_INTEGER - maxTtl),
        ttl: fc.oneof(fc.integer({ min: 0, max: maxTtl }), fc.constantFrom(0, 5_000_000, maxTtl)),
        command_id: deviceIdArbitrary(),
      },
      { requiredKeys: ["target_device_id", "source_device_id", "command", "timestamp", "ttl"] },
    )
    .map(
      ({ ttl, ...rest }): RemoteCommandMessage => ({
        msg_type: "remote_command",
        ...rest,
        expires_at: rest.timestamp + ttl,
      }),
    );
}

export function deviceActivityArbitrary(): fc.Arbitrary<DeviceActivity> {
  return fc.oneof(
    fc.constantFrom<DeviceActivity>("Idle", "Browsing"),
    deviceIdArbitrary().map((content_id): DeviceActivity => ({ Watching: { content_id } })),
    deviceIdArbitrary().map((content_id): DeviceActivity => ({ Paused: { content_id } })),
  );
}

export function devicePresenceStateArbitrary(): fc.Arbitrary<DevicePresenceState> {
  return fc.record({
    device_type: fc.constantFrom(...DEVICE_TYPES),
    activity: deviceActivityArbitrary(),
    last_update: hlcTimestampArbitrary(),
    app_version: versionArbitrary(),
  });
}

export function presenceEventArbitrary(): fc.Arbitrary<PresenceEventMessage> {
  const base = {
    msg_type: fc.constant("presence_event" as const),
    device_id: deviceIdArbitrary(),
    occupancy: fc.nat(50),
    timestamp: hlcTimestampArbitrary(),
  };
  return fc.oneof(
    fc.record(
      { ...base, action: fc.constant("join" as const), state: devicePresenceStateArbitrary() },
      { requiredKeys: ["msg_type", "device_id", "occupancy", "timestamp", "action"] },
    ),
    fc.record({ ...base, action: fc.constantFrom("leave" as const, "timeout" as const) }),
    fc.record({
      ...base,
      action: fc.constant("state-change" as const),
      state: devicePresenceStateArbitrary(),
    }),
  );
}
