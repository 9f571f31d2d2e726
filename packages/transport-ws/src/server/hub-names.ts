/**
 * Which channel, group and client names the hub accepts. The hub is a general pub/sub server
 * (tests, other apps), so it checks PubNub's naming rules, not mg-sync's channel shapes
 * (`parseChannel`); what an mg-sync channel may carry is the sync client's business. Names are
 * printable ASCII so that access control, which matches names literally, cannot be fooled by
 * look-alike characters (the rule `channels.ts` applies to ids).
 */

import type { ChannelRetention } from "@mg-sync/crdt-core";
import {
  channelRetention,
  DEFAULT_CHANNEL_RETENTION,
  PRESENCE_SUFFIX,
  parseChannel,
} from "@mg-sync/crdt-core";

/** PubNub's limit on channel and group names, and on `uuid`. */
export const MAX_NAME_LENGTH = 92;

/** Printable ASCII except PubNub's separators and wildcard (`, : * / \`). */
const CHANNEL_NAME = /^[\x21-\x29\x2b\x2d\x2e\x30-\x39\x3b-\x5b\x5d-\x7e]{1,92}$/;
/** Channel groups: as channels, and no `.` (PubNub reserves it for channel hierarchies). */
const GROUP_NAME = /^[\x21-\x29\x2b\x2d\x30-\x39\x3b-\x5b\x5d-\x7e]{1,92}$/;
const CLIENT_ID = /^[\x21-\x7e]{1,92}$/;

/** Why `name` cannot be a channel, or `undefined`. Presence channels are not named directly. */
export function channelNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "expected a channel name string";
  if (!CHANNEL_NAME.test(name))
    return `channel ${JSON.stringify(name.slice(0, 100))} must be 1..${MAX_NAME_LENGTH} printable ASCII characters without , : * / \\ or spaces`;
  if (name.endsWith(PRESENCE_SUFFIX))
    return `channel ${JSON.stringify(name)} is a presence channel; subscribe to the data channel with presence: true`;
  return undefined;
}

export function groupNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "expected a channel group name string";
  if (!GROUP_NAME.test(name))
    return `group ${JSON.stringify(name.slice(0, 100))} must be 1..${MAX_NAME_LENGTH} printable ASCII characters without . , : * / \\ or spaces`;
  return undefined;
}

export function clientIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string" || !CLIENT_ID.test(id))
    return `clientId must be 1..${MAX_NAME_LENGTH} printable ASCII characters`;
  return undefined;
}

/**
 * Default history retention: spec 9.1 for mg-sync channels (`channelRetention`), and for any
 * other name what 9.1 keeps for `user.{id}.sync` (`DEFAULT_CHANNEL_RETENTION`).
 */
export function defaultRetention(channel: string): ChannelRetention {
  return parseChannel(channel).ok ? channelRetention(channel) : DEFAULT_CHANNEL_RETENTION;
}
