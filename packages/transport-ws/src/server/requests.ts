/**
 * Reads a client frame into a typed request, or says precisely what is wrong with it. Frames
 * are network input: every failure is a value (an error reply), never an exception.
 * Field names and rules are those of docs/protocol.md, "WebSocket hub".
 */
import { isTimetoken } from "@mg-sync/crdt-core";
import { HUB_OPS, type HubErrorCode, type HubOp, type HubRequest, type SubscribeRequest } from "../frames.js";
import { channelNameProblem, clientIdProblem, groupNameProblem } from "./hub-names.js";

export type ParsedRequest =
  | { readonly ok: true; readonly request: HubRequest }
  | {
      readonly ok: false;
      readonly id: number | null;
      readonly op: HubOp | undefined;
      readonly code: HubErrorCode;
      readonly message: string;
    };

/** Thrown inside this module only, turned into a `ParsedRequest` at its boundary. */
class FrameProblem {
  constructor(
    readonly code: HubErrorCode,
    readonly message: string,
  ) {}
}

function bad(message: string): never {
  throw new FrameProblem("bad_frame", message);
}

function unacceptable(message: string): never {
  throw new FrameProblem("invalid_argument", message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

const OPS: ReadonlySet<string> = new Set(HUB_OPS);

export interface RequestLimits {
  /** Most names (channels or groups) one request may list. */
  readonly maxNamesPerRequest: number;
  /** Most `since` entries one subscribe may carry (a group's channels count too). */
  readonly maxSinceEntries: number;
  readonly minHeartbeatIntervalSec: number;
  readonly maxHeartbeatIntervalSec: number;
}

function names(
  frame: Record<string, unknown>,
  field: string,
  required: boolean,
  problem: (name: unknown) => string | undefined,
  limits: RequestLimits,
): string[] | undefined {
  const value = frame[field];
  if (value === undefined) {
    if (required) bad(`${field} is required`);
    return undefined;
  }
  if (!Array.isArray(value)) bad(`${field} must be an array of names`);
  if (value.length > limits.maxNamesPerRequest)
    throw new FrameProblem(
      "limit_exceeded",
      `${field} lists ${value.length} names; at most ${limits.maxNamesPerRequest} per request`,
    );
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") bad(`${field}[${i}] must be a string`);
    const reason = problem(value[i]);
    if (reason !== undefined) unacceptable(`${field}[${i}]: ${reason}`);
  }
  return [...new Set(value as string[])];
}

function optionalBoolean(frame: Record<string, unknown>, field: string): boolean | undefined {
  const value = frame[field];
  if (value !== undefined && typeof value !== "boolean") bad(`${field} must be a boolean`);
  return value as boolean | undefined;
}

function requiredString(frame: Record<string, unknown>, field: string): string {
  const value = frame[field];
  if (typeof value !== "string") bad(`${field} must be a string`);
  return value;
}

function channel(frame: Record<string, unknown>): string {
  const name = requiredString(frame, "channel");
  const reason = channelNameProblem(name);
  if (reason !== undefined) unacceptable(reason);
  return name;
}

function group(frame: Record<string, unknown>): string {
  const name = requiredString(frame, "group");
  const reason = groupNameProblem(name);
  if (reason !== undefined) unacceptable(reason);
  return name;
}

function optionalTimetoken(frame: Record<string, unknown>, field: string): string | undefined {
  const value = frame[field];
  if (value === undefined) return undefined;
  if (!isTimetoken(value)) bad(`${field} must be a timetoken (a decimal string)`);
  return value;
}

function channelsAndGroups(
  frame: Record<string, unknown>,
  limits: RequestLimits,
): { channels?: string[]; groups?: string[] } {
  const channels = names(frame, "channels", false, channelNameProblem, limits);
  const groups = names(frame, "groups", false, groupNameProblem, limits);
  if ((channels?.length ?? 0) + (groups?.length ?? 0) === 0)
    unacceptable("name at least one channel or group");
  const out: { channels?: string[]; groups?: string[] } = {};
  if (channels !== undefined) out.channels = channels;
  if (groups !== undefined) out.groups = groups;
  return out;
}

function parseKnown(
  op: HubOp,
  id: number,
  frame: Record<string, unknown>,
  limits: RequestLimits,
): HubRequest {
  switch (op) {
    case "hello": {
      const protocol = frame.protocol;
      if (typeof protocol !== "number") bad("protocol must be a number");
      const clientId = frame.clientId;
      const reason = clientIdProblem(clientId);
      if (reason !== undefined) unacceptable(reason);
      const token = frame.token;
      if (token !== undefined && typeof token !== "string") bad("token must be a string");
      return token === undefined
        ? { op, id, protocol, clientId: clientId as string }
        : { op, id, protocol, clientId: clientId as string, token };
    }
    case "ping":
      return { op, id };
    case "publish": {
      const name = channel(frame);
      if (!("payload" in frame)) bad("payload is required");
      const meta = frame.meta;
      if (meta !== undefined && !isRecord(meta)) bad("meta must be an object");
      const store = optionalBoolean(frame, "store");
      return {
        op,
        id,
        channel: name,
        payload: frame.payload,
        ...(meta === undefined ? {} : { meta }),
        ...(store === undefined ? {} : { store }),
      };
    }
    case "subscribe": {
      const targets = channelsAndGroups(frame, limits);
      const presence = optionalBoolean(frame, "presence");
      const since = frame.since;
      let sinceOut: Record<string, string> | undefined;
      if (since !== undefined) {
        if (!isRecord(since)) bad("since must be an object of channel to timetoken");
        const keys = Object.keys(since);
        if (keys.length > limits.maxSinceEntries)
          throw new FrameProblem(
            "limit_exceeded",
            `since lists ${keys.length} channels; at most ${limits.maxSinceEntries} per request`,
          );
        sinceOut = Object.create(null) as Record<string, string>;
        for (const key of keys) {
          if (!isTimetoken(since[key])) bad(`since[${JSON.stringify(key)}] must be a timetoken`);
          sinceOut[key] = since[key] as string;
        }
      }
      const request: SubscribeRequest = {
        op,
        id,
        ...targets,
        ...(presence === undefined ? {} : { presence }),
        ...(sinceOut === undefined ? {} : { since: sinceOut }),
      };
      return request;
    }
    case "unsubscribe":
    case "leave":
      return { op, id, ...channelsAndGroups(frame, limits) };
    case "history": {
      const name = channel(frame);
      const start = optionalTimetoken(frame, "start");
      const end = optionalTimetoken(frame, "end");
      const count = frame.count;
      if (count !== undefined && (typeof count !== "number" || !Number.isSafeInteger(count)))
        bad("count must be an integer");
      if (count !== undefined && (count < 1 || count > 100)) unacceptable("count must be from 1 to 100");
      return {
        op,
        id,
        channel: name,
        ...(start === undefined ? {} : { start }),
        ...(end === undefined ? {} : { end }),
        ...(count === undefined ? {} : { count: count as number }),
      };
    }
    case "heartbeat": {
      const targets = channelsAndGroups(frame, limits);
      const interval = frame.interval;
      if (typeof interval !== "number" || !Number.isFinite(interval))
        bad("interval must be a number of seconds");
      if (interval < limits.minHeartbeatIntervalSec || interval > limits.maxHeartbeatIntervalSec)
        unacceptable(
          `interval must be from ${limits.minHeartbeatIntervalSec} to ${limits.maxHeartbeatIntervalSec} seconds, got ${interval}`,
        );
      return { op, id, ...targets, interval, ...("state" in frame ? { state: frame.state } : {}) };
    }
    case "setState": {
      const channels = names(frame, "channels", true, channelNameProblem, limits)!;
      if (channels.length === 0) unacceptable("name at least one channel");
      if (!("state" in frame)) bad("state is required");
      return { op, id, channels, state: frame.state };
    }
    case "hereNow": {
      const channels = names(frame, "channels", true, channelNameProblem, limits)!;
      if (channels.length === 0) unacceptable("name at least one channel");
      const state = optionalBoolean(frame, "state");
      return { op, id, channels, ...(state === undefined ? {} : { state }) };
    }
    case "groupAdd":
    case "groupRemove": {
      const name = group(frame);
      const channels = names(frame, "channels", true, channelNameProblem, limits)!;
      if (channels.length === 0) unacceptable("name at least one channel");
      return { op, id, group: name, channels };
    }
    case "groupList":
    case "groupDelete":
      return { op, id, group: group(frame) };
  }
}

/** Parses one text frame. */
export function parseRequest(text: string, limits: RequestLimits): ParsedRequest {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { ok: false, id: null, op: undefined, code: "bad_frame", message: "frame is not valid JSON" };
  }
  if (!isRecord(frame))
    return { ok: false, id: null, op: undefined, code: "bad_frame", message: "frame must be a JSON object" };
  const id = isRequestId(frame.id) ? frame.id : null;
  if (id === null)
    return {
      ok: false,
      id: null,
      op: undefined,
      code: "bad_frame",
      message: "id must be a positive integer",
    };
  const op = frame.op;
  if (typeof op !== "string")
    return { ok: false, id, op: undefined, code: "bad_frame", message: "op must be a string" };
  if (!OPS.has(op))
    return {
      ok: false,
      id,
      op: undefined,
      code: "unknown_op",
      message: `unknown op ${JSON.stringify(op.slice(0, 64))}`,
    };
  try {
    return { ok: true, request: parseKnown(op as HubOp, id, frame, limits) };
  } catch (error) {
    if (error instanceof FrameProblem)
      return { ok: false, id, op: op as HubOp, code: error.code, message: `${op}: ${error.message}` };
    throw error;
  }
}
