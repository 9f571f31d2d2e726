/**
 * Whether a device should run a `remote_command` (spec 6.3), as a pure decision.
 *
 * Expiry (DEVIATIONS 8): the spec compares the sender's `expires_at` with the receiver's wall
 * clock, i.e. two devices' clocks. Here it is compared with the receiver's HLC *after* the
 * receiver has received the command's `timestamp` (`hlcReceive`, which also applies the drift
 * bound of DEVIATIONS 2). That HLC is never behind the sender's timestamp, so a receiver whose
 * wall clock lags cannot run a command its sender already considers dead.
 *
 * At most once (DEVIATIONS 6): delivery is at least once, so each command id is decided once.
 * Every decision but `wrong_target` and `duplicate` records the id, and a redelivered copy
 * gets `duplicate` whatever the first verdict was. The window only needs to span a command's
 * lifetime (at most `MAX_COMMAND_TTL_MS`): an older copy is rejected as expired anyway.
 */
import type { Hlc } from "./hlc.js";
import { commandIdOf, type RemoteCommandMessage } from "./messages/commands.js";
import type { DeviceView } from "./presence.js";

export type CommandRejection =
  | "expired"
  | "device_offline"
  | "not_supported"
  | "no_active_content"
  | "duplicate"
  | "wrong_target";

/** What `validateCommand` needs to know about the receiving device (a tracker's view fits). */
export type CommandTarget = Pick<DeviceView, "deviceId" | "online" | "capabilities" | "currentContent">;

/** Always carries the dedup window to keep and the id it was judged under. */
export type CommandVerdict =
  | { readonly ok: true; readonly commandId: string; readonly seen: CommandDedupWindow }
  | {
      readonly ok: false;
      readonly reason: CommandRejection;
      readonly commandId: string;
      readonly seen: CommandDedupWindow;
    };

/**
 * Ids of commands already decided. Immutable: two generations, each holding up to `capacity`
 * ids; when the newer is full it becomes the older and the oldest generation is dropped. So
 * at least the last `capacity` ids are always remembered, and never more than `2 * capacity`.
 * An add copies the newer generation only (commands come at human rate; purity is worth it).
 */
export interface CommandDedupWindow {
  readonly capacity: number;
  readonly newer: ReadonlySet<string>;
  readonly older: ReadonlySet<string>;
}

/** Far more commands than a user can send within one command lifetime (60 s). */
export const DEFAULT_COMMAND_DEDUP_CAPACITY = 1024;

export function commandDedupEmpty(capacity: number = DEFAULT_COMMAND_DEDUP_CAPACITY): CommandDedupWindow {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`commandDedupEmpty: capacity must be a positive integer, got ${String(capacity)}`);
  }
  return { capacity, newer: new Set(), older: new Set() };
}

export function commandDedupHas(window: CommandDedupWindow, commandId: string): boolean {
  return window.newer.has(commandId) || window.older.has(commandId);
}

/** Returns `window` itself if the id is already there. */
export function commandDedupAdd(window: CommandDedupWindow, commandId: string): CommandDedupWindow {
  if (commandDedupHas(window, commandId)) return window;
  if (window.newer.size >= window.capacity) {
    return { capacity: window.capacity, newer: new Set([commandId]), older: window.newer };
  }
  const newer = new Set(window.newer);
  newer.add(commandId);
  return { capacity: window.capacity, newer, older: window.older };
}

/**
 * Decides one validated command for the device `target` (the receiver itself; `undefined`
 * when it is unknown, which counts as offline). `receiverHlc` is the receiver's HLC after
 * receiving `command.timestamp`. Checks, in order: wrong_target, duplicate, expired (spec 6.3
 * step 1), device_offline (2), not_supported (3), then per command: Seek needs loaded content
 * (`no_active_content`), CastTo needs `can_cast` (`not_supported`).
 */
export function validateCommand(
  command: RemoteCommandMessage,
  target: CommandTarget | undefined,
  receiverHlc: Hlc,
  seen: CommandDedupWindow,
): CommandVerdict {
  if (!Number.isSafeInteger(receiverHlc) || receiverHlc < 0) {
    throw new RangeError(`validateCommand: receiverHlc must be an HLC timestamp, got ${String(receiverHlc)}`);
  }
  const commandId = commandIdOf(command);
  if (target !== undefined && command.target_device_id !== target.deviceId) {
    // Not ours to decide: leave the window alone so the real target's copy is unaffected.
    return { ok: false, reason: "wrong_target", commandId, seen };
  }
  if (commandDedupHas(seen, commandId)) return { ok: false, reason: "duplicate", commandId, seen };
  const decided = commandDedupAdd(seen, commandId);
  const reason = rejection(command, target, receiverHlc);
  return reason === undefined
    ? { ok: true, commandId, seen: decided }
    : { ok: false, reason, commandId, seen: decided };
}

function rejection(
  command: RemoteCommandMessage,
  target: CommandTarget | undefined,
  receiverHlc: Hlc,
): CommandRejection | undefined {
  // Spec 6.3: `expires_at < now` is expired, so a command is still good at its expiry instant.
  if (command.expires_at < receiverHlc) return "expired";
  if (target === undefined || !target.online) return "device_offline";
  const capabilities = target.capabilities;
  // Unknown capabilities cannot promise remote control.
  if (capabilities === null || !capabilities.remote_controllable) return "not_supported";
  switch (command.command.type) {
    case "Seek":
      return target.currentContent === null ? "no_active_content" : undefined;
    case "CastTo":
      return capabilities.can_cast ? undefined : "not_supported";
    default:
      return undefined;
  }
}
