/**
 * The client end of the simulated network: a `Transport` (crdt-core `transport.ts`) whose every
 * call is checked here, then travels to the server over the network's links. Arguments that break
 * the interface's rules reject with `TransportError` (`invalid_argument`, `payload_too_large`)
 * before anything is sent, as a real adapter's would; nothing here throws.
 */
import {
  encodedByteLength,
  type HeartbeatOptions,
  type HereNowResult,
  type HistoryOptions,
  type HistoryResult,
  isTimetoken,
  MAX_CHANNEL_NAME_LENGTH,
  MAX_HEARTBEAT_INTERVAL_SEC,
  PRESENCE_SUFFIX,
  type PublishOptions,
  type SubscribeOptions,
  type Timetoken,
  type Transport,
  TransportError,
  type TransportListener,
  type TransportOperation,
} from "@mg-sync/crdt-core";
import { MAX_HISTORY_COUNT } from "./channel-log.js";
import type { ClientSession, MemoryRequest, MemoryRequestResults } from "./client-session.js";

/** What a transport needs from its network; implemented by `MemoryNetwork`. */
export interface NetworkPort {
  readonly maxMessageBytes: number;
  request<R extends MemoryRequest>(
    session: ClientSession,
    request: R,
  ): Promise<MemoryRequestResults[R["op"]]>;
  close(session: ClientSession): void;
}

/**
 * Why `name` is not a usable channel or group name, or `undefined`. PubNub's rules: at most 92
 * characters; no whitespace, control characters, `,` `:` `*` `/` `\` (crdt-core `channels.ts`).
 * Any such name is accepted, not only the topology of spec 2.1: the simulation stands in for
 * PubNub, which does not know our topology either.
 */
export function channelNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `expected a string, got ${name === null ? "null" : typeof name}`;
  if (name.length === 0) return "must not be empty";
  if (name.length > MAX_CHANNEL_NAME_LENGTH)
    return `is ${name.length} characters long; at most ${MAX_CHANNEL_NAME_LENGTH} are allowed`;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return `contains whitespace or a control character at index ${i}`;
    if (code === 0x2c || code === 0x3a || code === 0x2a || code === 0x2f || code === 0x5c)
      return `contains ${JSON.stringify(name[i])} at index ${i}, which PubNub forbids in names`;
  }
  return undefined;
}

/** The JSON text of `value`, or `undefined` when JSON cannot carry it (functions, BigInt, cycles). */
function jsonText(value: unknown): string | undefined {
  try {
    const text: unknown = JSON.stringify(value);
    return typeof text === "string" ? text : undefined;
  } catch {
    return undefined;
  }
}

class InvalidArgument extends Error {}

function checkNames(what: string, names: unknown): readonly string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) throw new InvalidArgument(`${what} must be an array of names`);
  for (let i = 0; i < names.length; i++) {
    const problem = channelNameProblem(names[i]);
    if (problem !== undefined) throw new InvalidArgument(`${what}[${i}] ${problem}`);
  }
  return (names as readonly string[]).slice();
}

function checkName(what: string, name: unknown): string {
  const problem = channelNameProblem(name);
  if (problem !== undefined) throw new InvalidArgument(`${what} ${problem}`);
  return name as string;
}

export class MemoryTransport implements Transport {
  readonly clientId: string;
  readonly maxMessageBytes: number;
  private readonly session: ClientSession;
  private readonly port: NetworkPort;

  constructor(session: ClientSession, port: NetworkPort) {
    this.session = session;
    this.port = port;
    this.clientId = session.clientId;
    this.maxMessageBytes = port.maxMessageBytes;
  }

  publish(
    channel: string,
    payload: unknown,
    options: PublishOptions = {},
  ): Promise<{ readonly timetoken: Timetoken }> {
    return this.send("publish", () => {
      checkName("channel", channel);
      if (channel.endsWith(PRESENCE_SUFFIX))
        throw new InvalidArgument(
          `channel ${JSON.stringify(channel)} is a presence channel; only the server publishes there`,
        );
      const payloadText = jsonText(payload);
      if (payloadText === undefined) throw new InvalidArgument("payload is not a JSON value");
      const bytes = encodedByteLength(payloadText);
      if (bytes > this.maxMessageBytes)
        throw new TransportError(
          "payload_too_large",
          "publish",
          `payload is ${bytes} bytes of JSON, over the ${this.maxMessageBytes}-byte limit`,
        );
      let metaText: string | undefined;
      if (options.meta !== undefined) {
        metaText = jsonText(options.meta);
        if (metaText === undefined) throw new InvalidArgument("meta is not a JSON object");
      }
      return { op: "publish", channel, payloadText, metaText, store: options.storeInHistory !== false };
    });
  }

  subscribe(options: SubscribeOptions): Promise<void> {
    return this.send("subscribe", () => {
      const channels = checkNames("channels", options.channels);
      const groups = checkNames("channelGroups", options.channelGroups);
      if (channels.length + groups.length === 0)
        throw new InvalidArgument("subscribe needs at least one channel or channel group");
      return { op: "subscribe", channels, groups, withPresence: options.withPresence === true };
    });
  }

  unsubscribe(options: SubscribeOptions): Promise<void> {
    return this.send("unsubscribe", () => ({
      op: "unsubscribe",
      channels: checkNames("channels", options.channels),
      groups: checkNames("channelGroups", options.channelGroups),
    }));
  }

  history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    return this.send("history", () => {
      checkName("channel", channel);
      const count = options.count ?? MAX_HISTORY_COUNT;
      if (!Number.isInteger(count) || count < 1 || count > MAX_HISTORY_COUNT)
        throw new InvalidArgument(
          `count must be an integer in 1..${MAX_HISTORY_COUNT}, got ${String(count)}`,
        );
      if (options.start !== undefined && !isTimetoken(options.start))
        throw new InvalidArgument(`start is not a timetoken: ${JSON.stringify(options.start)}`);
      if (options.end !== undefined && !isTimetoken(options.end))
        throw new InvalidArgument(`end is not a timetoken: ${JSON.stringify(options.end)}`);
      return { op: "history", channel, start: options.start, end: options.end, count };
    });
  }

  heartbeat(options: HeartbeatOptions): Promise<void> {
    return this.send("presence", () => {
      const interval = options.intervalSeconds;
      // The range crdt-core accepts for an announced interval (`heartbeat_interval`, DEVIATIONS 7).
      if (!Number.isInteger(interval) || interval < 1 || interval > MAX_HEARTBEAT_INTERVAL_SEC)
        throw new InvalidArgument(
          `intervalSeconds must be an integer in 1..${MAX_HEARTBEAT_INTERVAL_SEC}, got ${String(interval)}`,
        );
      let stateText: string | undefined;
      if (options.state !== undefined) {
        stateText = jsonText(options.state);
        if (stateText === undefined) throw new InvalidArgument("state is not a JSON value");
      }
      return {
        op: "heartbeat",
        channels: checkNames("channels", options.channels),
        groups: checkNames("channelGroups", options.channelGroups),
        intervalSeconds: interval,
        stateText,
      };
    });
  }

  setState(options: { readonly channels: readonly string[]; readonly state: unknown }): Promise<void> {
    return this.send("presence", () => {
      const channels = checkNames("channels", options.channels);
      if (channels.length === 0) throw new InvalidArgument("setState needs at least one channel");
      const stateText = jsonText(options.state);
      if (stateText === undefined) throw new InvalidArgument("state is not a JSON value");
      return { op: "set-state", channels, stateText };
    });
  }

  hereNow(options: {
    readonly channels: readonly string[];
    readonly includeState?: boolean;
  }): Promise<HereNowResult> {
    return this.send("presence", () => {
      const channels = checkNames("channels", options.channels);
      if (channels.length === 0) throw new InvalidArgument("hereNow needs at least one channel");
      return { op: "here-now", channels, includeState: options.includeState === true };
    });
  }

  leave(options: {
    readonly channels?: readonly string[];
    readonly channelGroups?: readonly string[];
  }): Promise<void> {
    return this.send("presence", () => ({
      op: "leave",
      channels: checkNames("channels", options.channels),
      groups: checkNames("channelGroups", options.channelGroups),
    }));
  }

  addChannelsToGroup(group: string, channels: readonly string[]): Promise<void> {
    return this.send("channel-group", () => ({
      op: "group-add",
      group: checkName("group", group),
      channels: checkNames("channels", channels),
    }));
  }

  removeChannelsFromGroup(group: string, channels: readonly string[]): Promise<void> {
    return this.send("channel-group", () => ({
      op: "group-remove",
      group: checkName("group", group),
      channels: checkNames("channels", channels),
    }));
  }

  listChannelsInGroup(group: string): Promise<readonly string[]> {
    return this.send("channel-group", () => ({ op: "group-list", group: checkName("group", group) }));
  }

  deleteChannelGroup(group: string): Promise<void> {
    return this.send("channel-group", () => ({ op: "group-delete", group: checkName("group", group) }));
  }

  addListener(listener: TransportListener): () => void {
    const listeners = this.session.listeners;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  close(): Promise<void> {
    this.port.close(this.session);
    return Promise.resolve();
  }

  /** Builds the request (validation errors become rejections) and hands it to the network. */
  private send<R extends MemoryRequest>(
    operation: TransportOperation,
    build: () => R,
  ): Promise<MemoryRequestResults[R["op"]]> {
    if (this.session.closed)
      return Promise.reject(
        new TransportError("closed", operation, `transport of ${this.clientId} is closed`),
      );
    let request: R;
    try {
      request = build();
    } catch (error) {
      if (error instanceof TransportError) return Promise.reject(error);
      if (error instanceof InvalidArgument)
        return Promise.reject(new TransportError("invalid_argument", operation, error.message));
      throw error;
    }
    return this.port.request(this.session, request);
  }
}
