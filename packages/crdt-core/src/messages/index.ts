/**
 * The one codec for every message on every channel (docs/protocol.md): JSON text in, a
 * validated `Message` or a `{ path, reason }` out (DEVIATIONS 11). Decoding never throws;
 * encoding a message over the transport limit does, since only a bug makes one.
 */

import { invalid, ok, type Result } from "../result.js";
import { type Check, isPlainObject, ValidationError } from "../schema.js";
import { type BroadcastMessage, broadcastMessageChecks } from "./broadcast.js";
import { type CommandMessage, commandMessageChecks } from "./commands.js";
import { MAX_MESSAGE_BYTES } from "./common.js";
import { type DeviceMessage, deviceMessageChecks } from "./devices.js";
import { rememberedEncoding } from "./encoding-memo.js";
import { type NotificationMessage, notificationMessageChecks } from "./notifications.js";
import { type PresenceMessage, presenceMessageChecks } from "./presence.js";
import { type ReconciliationMessage, reconciliationMessageChecks } from "./reconciliation.js";
import { type SyncMessage, syncMessageChecks } from "./sync.js";

export type Message =
  | SyncMessage
  | DeviceMessage
  | CommandMessage
  | PresenceMessage
  | NotificationMessage
  | BroadcastMessage
  | ReconciliationMessage;

export type MessageType = Message["msg_type"];

/** Every message's check, by `msg_type`. A null prototype, so `"toString"` is no message type. */
const MESSAGE_CHECKS: Readonly<Record<MessageType, Check<Message>>> = Object.assign(
  Object.create(null) as Record<MessageType, Check<Message>>,
  syncMessageChecks,
  deviceMessageChecks,
  commandMessageChecks,
  presenceMessageChecks,
  notificationMessageChecks,
  broadcastMessageChecks,
  reconciliationMessageChecks,
);

/** Every `msg_type` this codec knows. */
export const MESSAGE_TYPES: readonly MessageType[] = Object.freeze(
  Object.keys(MESSAGE_CHECKS) as MessageType[],
);

const UNKNOWN_TYPE_REASON = `expected one of ${MESSAGE_TYPES.join(", ")}`;

/**
 * Validates a JSON value (as `JSON.parse` makes it) as a message. Unknown fields are dropped
 * from the result, so a newer peer's additions never reach state. Never throws.
 */
export function parseMessage(input: unknown): Result<Message> {
  try {
    if (!isPlainObject(input)) {
      return invalid(
        "",
        `expected an object, got ${input === null ? "null" : Array.isArray(input) ? "an array" : `a ${typeof input}`}`,
      );
    }
    const type = input.msg_type;
    if (type === undefined) return invalid("msg_type", "is required");
    const check = typeof type === "string" ? MESSAGE_CHECKS[type as MessageType] : undefined;
    if (check === undefined) return invalid("msg_type", UNKNOWN_TYPE_REASON);
    return ok(check(input));
  } catch (error) {
    if (error instanceof ValidationError) return invalid(error.path, error.reason);
    // Only a hostile non-JSON input (a throwing getter, a Proxy) gets here: still a value.
    return invalid("", `could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Any UTF-16 unit outside ASCII (no `u` flag: lone surrogates match too). */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * UTF-8 length of `text` without encoding it: what PubNub counts against its limit (lone
 * surrogates count 3, as `TextEncoder` writes them as U+FFFD).
 */
export function encodedByteLength(text: string): number {
  // Pure ASCII (JSON text almost always is): one byte per unit. The regex engine scans a long
  // string several times faster than the loop below.
  if (!NON_ASCII.test(text)) return text.length;
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
      continue;
    }
    // Three bytes for one unit, or four for a surrogate pair's two units: 2 more either way.
    bytes += 2;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return bytes;
}

/** At most this many bytes without counting: one UTF-16 unit is never more than 3 UTF-8 bytes. */
const SURELY_SMALL = Math.floor(MAX_MESSAGE_BYTES / 3);

/**
 * Decodes one message from JSON text. Text over `MAX_MESSAGE_BYTES` (UTF-8) is rejected before
 * it is parsed, so an oversized message costs no parse. Never throws.
 */
export function decodeMessage(text: string): Result<Message> {
  if (typeof text !== "string") return invalid("", `expected JSON text, got a ${typeof text}`);
  if (text.length > MAX_MESSAGE_BYTES) {
    return invalid("", `message is at least ${text.length} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  if (text.length > SURELY_SMALL) {
    const bytes = encodedByteLength(text);
    if (bytes > MAX_MESSAGE_BYTES) {
      return invalid("", `message is ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid("", `invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseMessage(value);
}

/**
 * JSON text of a message. Throws `RangeError` if the text is over `MAX_MESSAGE_BYTES`: callers
 * build messages, so an oversized one is a bug (split reconciliation state into chunks).
 */
export function encodeMessage(message: Message): string {
  // A text `stateToChunks` assembled while it measured the chunk (within the limit by then).
  const known = rememberedEncoding(message);
  if (known !== undefined) return known;
  const text = JSON.stringify(message);
  if (text.length > SURELY_SMALL) {
    const bytes = encodedByteLength(text);
    if (bytes > MAX_MESSAGE_BYTES) {
      throw new RangeError(
        `encodeMessage: message (${message.msg_type}) is ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`,
      );
    }
  }
  return text;
}
