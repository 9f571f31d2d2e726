/**
 * The documented shape of each reply's `result` (docs/protocol.md §9), checked before a call
 * resolves. A hub that answers with another shape (a bug, a version mismatch, a hostile server)
 * fails that call with a `server` error naming what was wrong, instead of a `TypeError` from
 * reading it, or a value that only looks right (a publish "acknowledged" without a timetoken
 * would let an unstored message count as stored). Browser-safe: no `node:` imports.
 */
import { isTimetoken } from "@mg-sync/crdt-core";
import type { HubOp } from "./frames.js";

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** The first entry of `record` whose value fails `problem`, as a reason naming its path. */
function firstProblem(
  record: Record<string, unknown>,
  path: string,
  problem: (value: unknown) => string | undefined,
): string | undefined {
  for (const [key, value] of Object.entries(record)) {
    const reason = problem(value);
    if (reason !== undefined) return `${path}.${JSON.stringify(key)}${reason}`;
  }
  return undefined;
}

function subscribedChannel(info: unknown): string | undefined {
  if (!isRecord(info)) return ": expected an object";
  if (!isTimetoken(info.timetoken)) return ".timetoken: expected a timetoken";
  if (typeof info.gap !== "boolean") return ".gap: expected a boolean";
  return undefined;
}

function hereNowChannel(info: unknown): string | undefined {
  if (!isRecord(info)) return ": expected an object";
  if (typeof info.occupancy !== "number") return ".occupancy: expected a number";
  if (!Array.isArray(info.occupants)) return ".occupants: expected an array";
  for (const occupant of info.occupants)
    if (!isRecord(occupant) || typeof occupant.uuid !== "string")
      return ".occupants: expected objects with a string uuid";
  return undefined;
}

/**
 * Why `result` is not what the hub documents for `op`, or `undefined` when it is. Only the
 * parts the transport reads are checked; fields a newer hub adds pass through.
 */
export function replyProblem(op: HubOp, result: unknown): string | undefined {
  switch (op) {
    case "hello":
      if (!isRecord(result)) return "expected an object";
      if (!Number.isSafeInteger(result.maxMessageBytes) || (result.maxMessageBytes as number) <= 0)
        return "maxMessageBytes: expected a positive integer";
      return undefined;
    case "publish":
      if (!isRecord(result) || !isTimetoken(result.timetoken)) return "timetoken: expected a timetoken";
      return undefined;
    case "subscribe":
      if (!isRecord(result)) return "expected an object";
      if (!isRecord(result.channels)) return "channels: expected an object";
      if (!isRecord(result.groups)) return "groups: expected an object";
      return (
        firstProblem(result.channels, "channels", subscribedChannel) ??
        firstProblem(result.groups, "groups", (channels) =>
          isStringArray(channels) ? undefined : ": expected an array of channel names",
        )
      );
    case "history":
      if (!isRecord(result) || !Array.isArray(result.messages)) return "messages: expected an array";
      for (const item of result.messages)
        if (!isRecord(item) || !isTimetoken(item.timetoken))
          return "messages: expected objects with a timetoken";
      return undefined;
    case "hereNow":
      if (!isRecord(result) || !isRecord(result.channels)) return "channels: expected an object";
      return firstProblem(result.channels, "channels", hereNowChannel);
    case "groupList":
      if (!isRecord(result) || !isStringArray(result.channels))
        return "channels: expected an array of channel names";
      return undefined;
    default:
      // Replies whose result the transport does not read (ping, unsubscribe, presence, groups).
      return undefined;
  }
}
