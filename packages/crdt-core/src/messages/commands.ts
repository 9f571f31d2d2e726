/**
 * `remote_command` (spec 3.4; spec 2.1 lists it as `device_command`, but the 3.4 payload's
 * `msg_type` is the wire name): one device asks another to play, seek, cast … Not a CRDT: it
 * is executed at most once, so it carries a command id and receivers deduplicate by it
 * (DEVIATIONS 6), and it expires on the receiver's HLC (DEVIATIONS 8, see `../commands.ts`).
 */
import {
  type Check,
  isPlainObject,
  literal,
  nullable,
  object,
  taggedUnion,
  ValidationError,
} from "../schema.js";
import { hlcTimestamp, id, seconds } from "./common.js";
import { fraction } from "./sync.js";

// ---------------------------------------------------------------------------------------------
// RemoteCommand: serde `#[serde(tag = "type", content = "params")]` (adjacently tagged)

/**
 * Unit variants are `{ "type": "Play" }`, as serde writes them. `"params": null` is also
 * accepted (serde reads a unit's content from `null`, so a Rust peer may send it) and dropped;
 * any other `params` on a unit variant is rejected, since it means the sender meant some
 * other command.
 */
export type RemoteCommand =
  | { readonly type: "Play" }
  | { readonly type: "Pause" }
  | { readonly type: "Stop" }
  | { readonly type: "Seek"; readonly params: { readonly position_seconds: number } }
  /** `level` 0..1 (DEVIATIONS 11). */
  | { readonly type: "VolumeSet"; readonly params: { readonly level: number } }
  | { readonly type: "VolumeMute" }
  | { readonly type: "VolumeUnmute" }
  | {
      readonly type: "LoadContent";
      /** `start_position` absent means `null`: the receiver's own resume point. */
      readonly params: { readonly content_id: string; readonly start_position?: number | null };
    }
  | { readonly type: "SwitchProfile"; readonly params: { readonly profile_id: string } }
  | {
      readonly type: "CastTo";
      readonly params: { readonly target_device_id: string; readonly content_id: string };
    };

export type RemoteCommandType = RemoteCommand["type"];

export const UNIT_COMMAND_TYPES = ["Play", "Pause", "Stop", "VolumeMute", "VolumeUnmute"] as const;
type UnitCommandType = (typeof UNIT_COMMAND_TYPES)[number];

function unitCommand<T extends UnitCommandType>(type: T): Check<{ readonly type: T }> {
  return (value) => {
    // taggedUnion has already checked the object and its tag.
    const params = isPlainObject(value) ? value.params : undefined;
    if (params !== undefined && params !== null) {
      throw new ValidationError(`expected no params (or null) for ${type}`, ["params"]);
    }
    return { type };
  };
}

function structCommand<T extends string, P>(type: T, params: Check<P>): Check<{ type: T; params: P }> {
  return object({ type: literal(type), params });
}

export const checkRemoteCommand: Check<RemoteCommand> = taggedUnion<RemoteCommand>("type", {
  Play: unitCommand("Play"),
  Pause: unitCommand("Pause"),
  Stop: unitCommand("Stop"),
  Seek: structCommand("Seek", object({ position_seconds: seconds })),
  VolumeSet: structCommand("VolumeSet", object({ level: fraction })),
  VolumeMute: unitCommand("VolumeMute"),
  VolumeUnmute: unitCommand("VolumeUnmute"),
  LoadContent: structCommand(
    "LoadContent",
    object({ content_id: id }, { start_position: nullable(seconds) }),
  ),
  SwitchProfile: structCommand("SwitchProfile", object({ profile_id: id })),
  CastTo: structCommand("CastTo", object({ target_device_id: id, content_id: id })),
});

// ---------------------------------------------------------------------------------------------
// remote_command (spec 3.4)

/** Spec 3.4 gives commands 5 s; we accept up to 60 s, beyond which a command is a sender bug. */
export const MAX_COMMAND_TTL_MS = 60_000;
/** The same, in HLC units (DEVIATIONS 1: `wallMs * 1000 + counter`). */
const MAX_COMMAND_TTL_HLC = MAX_COMMAND_TTL_MS * 1000;

export interface RemoteCommandMessage {
  readonly msg_type: "remote_command";
  readonly target_device_id: string;
  readonly source_device_id: string;
  readonly command: RemoteCommand;
  /** The sender's HLC. */
  readonly timestamp: number;
  /** Sender's HLC value after which the command must not run; `timestamp <= expires_at`. */
  readonly expires_at: number;
  /**
   * Deduplication key (DEVIATIONS 6). Absent means `${source_device_id}:${timestamp}` (see
   * `commandIdOf`), unique because one device's HLC never issues a timestamp twice.
   */
  readonly command_id?: string;
}

const remoteCommandFields = object(
  {
    msg_type: literal("remote_command"),
    target_device_id: id,
    source_device_id: id,
    command: checkRemoteCommand,
    timestamp: hlcTimestamp,
    expires_at: hlcTimestamp,
  },
  { command_id: id },
);

/**
 * `timestamp <= expires_at <= timestamp + 60 s`: a command that expires before it was sent is a
 * sender bug, and one that lives for hours would let a stale "Play" fire long after the user
 * gave up on it (and outlive the receiver's dedup window).
 */
export const checkRemoteCommandMessage: Check<RemoteCommandMessage> = (value) => {
  const message = remoteCommandFields(value);
  if (message.expires_at < message.timestamp) {
    throw new ValidationError(
      `expected at least timestamp (${message.timestamp}), got ${message.expires_at}`,
      ["expires_at"],
    );
  }
  if (message.expires_at - message.timestamp > MAX_COMMAND_TTL_HLC) {
    throw new ValidationError(
      `expected at most ${MAX_COMMAND_TTL_MS} ms after timestamp (${message.timestamp}), got ${message.expires_at}`,
      ["expires_at"],
    );
  }
  return message;
};

/** The id a receiver deduplicates by: `command_id`, or `${source_device_id}:${timestamp}`. */
export function commandIdOf(message: RemoteCommandMessage): string {
  return message.command_id ?? `${message.source_device_id}:${message.timestamp}`;
}

export const commandMessageChecks = {
  remote_command: checkRemoteCommandMessage,
} as const;

export type CommandMessage = RemoteCommandMessage;
