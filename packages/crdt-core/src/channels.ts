/**
 * The channel topology of spec 2.1 and 4.1–4.4: builders, a parser, the user's channel group
 * (2.2), history retention (9.1), which `msg_type`s each channel carries, and the `*` patterns
 * used by access control (11.1) and encryption config (12.3).
 *
 * Names follow PubNub's rules (research/pubnub-protocol.md; PubNub "channel names" and limits
 * pages): at most 92 characters; no `,` `:` `*` `/` `\`, spaces or control characters; `.` is
 * the hierarchy separator of wildcard subscribe, which goes at most three segments deep. So an
 * id inside a name may not contain `.`, and ids are capped at 64 characters, which keeps the
 * longest name we build, `user.{id}.notifications-pnpres`, at 90.
 */
import { invalid, ok, type Result } from "./result.js";

/** PubNub's limit on a channel name. */
export const MAX_CHANNEL_NAME_LENGTH = 92;
/** Longest id inside a channel name: every name we build, even with `-pnpres`, stays <= 92. */
export const MAX_CHANNEL_ID_LENGTH = 64;
/** PubNub delivers presence events for channel `c` on `c-pnpres` (research §6). */
export const PRESENCE_SUFFIX = "-pnpres";

export const GLOBAL_TRENDING = "global.trending";
export const GLOBAL_ANNOUNCEMENTS = "global.announcements";
export const ANALYTICS_VIEWING = "analytics.viewing";

/** A channel that carries messages (every channel of spec 2.1 and 4.1–4.4). */
export type DataChannelInfo =
  | { readonly kind: "user.sync"; readonly userId: string }
  | { readonly kind: "user.devices"; readonly userId: string }
  | { readonly kind: "user.notifications"; readonly userId: string }
  | { readonly kind: "global.trending" }
  | { readonly kind: "global.announcements" }
  | { readonly kind: "region.updates"; readonly region: string }
  | { readonly kind: "platform.catalog"; readonly platformId: string }
  | { readonly kind: "platform.status"; readonly platformId: string }
  | { readonly kind: "analytics.viewing" }
  | { readonly kind: "party"; readonly partyId: string };

/** The presence side channel `<channel>-pnpres` of a data channel. */
export interface PresenceChannelInfo {
  readonly kind: "presence";
  readonly channel: DataChannelInfo;
}

export type ChannelInfo = DataChannelInfo | PresenceChannelInfo;
export type DataChannelKind = DataChannelInfo["kind"];
export type ChannelKind = ChannelInfo["kind"];

export const CHANNEL_KINDS = [
  "user.sync",
  "user.devices",
  "user.notifications",
  "global.trending",
  "global.announcements",
  "region.updates",
  "platform.catalog",
  "platform.status",
  "analytics.viewing",
  "party",
  "presence",
] as const satisfies readonly ChannelKind[];

// ---------------------------------------------------------------------------------------------
// Ids

const DOT = 0x2e;
const STAR = 0x2a;

/** Why a printable ASCII character may not appear in an id; `undefined` when it may. */
function forbiddenReason(code: number): string | undefined {
  switch (code) {
    case DOT:
      return "separates channel name segments";
    case STAR:
      return "is PubNub's wildcard";
    case 0x2c: // ,
      return "separates channels in PubNub requests";
    case 0x3a: // :
    case 0x2f: // /
    case 0x5c: // \
      return "is forbidden in PubNub channel names";
    default:
      return undefined;
  }
}

function codePointLabel(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why `id` cannot sit inside a channel name, or `undefined` if it can. Ids are printable ASCII
 * (U+0021–U+007E) so PubNub's "92 characters" means the same in characters, UTF-16 units and
 * bytes, and no two different ids look alike (access control matches names literally).
 */
function channelIdProblem(id: string): string | undefined {
  const length = id.length;
  if (length === 0) return "must not be empty";
  if (length > MAX_CHANNEL_ID_LENGTH)
    return `is ${length} characters long; at most ${MAX_CHANNEL_ID_LENGTH} are allowed`;
  for (let i = 0; i < length; i++) {
    const code = id.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f)
      return `contains whitespace or a control character (${codePointLabel(code)}) at index ${i}`;
    if (code > 0x7e)
      return `contains the non-ASCII character ${codePointLabel(code)} at index ${i}; channel ids are printable ASCII`;
    const reason = forbiddenReason(code);
    if (reason !== undefined)
      return `contains ${JSON.stringify(String.fromCharCode(code))} at index ${i}, which ${reason}`;
  }
  // `party.x-pnpres` would read as the presence channel of `party.x`.
  if (id.endsWith(PRESENCE_SUFFIX))
    return `ends with ${JSON.stringify(PRESENCE_SUFFIX)}, which marks PubNub presence channels`;
  return undefined;
}

/** Checks an id (user, region, platform, party) that is to be put inside a channel name. */
export function validateChannelId(id: unknown): Result<string> {
  if (typeof id !== "string")
    return invalid("", `expected a string, got ${id === null ? "null" : typeof id}`);
  const problem = channelIdProblem(id);
  return problem === undefined ? ok(id) : invalid("", problem);
}

/** Builders take ids from our own code: a bad one is a bug, so it throws, naming the argument. */
function requireId(argument: string, id: unknown): string {
  if (typeof id !== "string")
    throw new TypeError(`${argument} must be a string, got ${id === null ? "null" : typeof id}`);
  const problem = channelIdProblem(id);
  if (problem !== undefined) throw new RangeError(`${argument} ${problem}: ${JSON.stringify(id)}`);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Builders

export function userSyncChannel(userId: string): string {
  return `user.${requireId("userId", userId)}.sync`;
}

export function userDevicesChannel(userId: string): string {
  return `user.${requireId("userId", userId)}.devices`;
}

export function userNotificationsChannel(userId: string): string {
  return `user.${requireId("userId", userId)}.notifications`;
}

export function regionUpdatesChannel(region: string): string {
  return `region.${requireId("region", region)}.updates`;
}

export function platformCatalogChannel(platformId: string): string {
  return `platform.${requireId("platformId", platformId)}.catalog`;
}

/** Spec 4.1. */
export function platformStatusChannel(platformId: string): string {
  return `platform.${requireId("platformId", platformId)}.status`;
}

/** Spec 4.3. */
export function partyChannel(partyId: string): string {
  return `party.${requireId("partyId", partyId)}`;
}

/** The presence channel PubNub delivers `channel`'s join/leave/timeout events on. */
export function presenceChannel(channel: string): string {
  const parsed = parseDataChannel(channel);
  if (!parsed.ok) throw new RangeError(`channel is not a data channel (${parsed.error.reason})`);
  return channel + PRESENCE_SUFFIX;
}

/** The name of `info`; ids are checked as the builders check them. */
export function channelName(info: ChannelInfo): string {
  if (info.kind !== "presence") return dataChannelName(info);
  // Typed as a data channel, but a hand-built value could nest presence in presence.
  const base = info.channel as ChannelInfo;
  if (base.kind === "presence")
    throw new RangeError("info.channel must be a data channel, not a presence channel");
  return dataChannelName(base) + PRESENCE_SUFFIX;
}

function dataChannelName(info: DataChannelInfo): string {
  switch (info.kind) {
    case "user.sync":
      return userSyncChannel(info.userId);
    case "user.devices":
      return userDevicesChannel(info.userId);
    case "user.notifications":
      return userNotificationsChannel(info.userId);
    case "global.trending":
      return GLOBAL_TRENDING;
    case "global.announcements":
      return GLOBAL_ANNOUNCEMENTS;
    case "region.updates":
      return regionUpdatesChannel(info.region);
    case "platform.catalog":
      return platformCatalogChannel(info.platformId);
    case "platform.status":
      return platformStatusChannel(info.platformId);
    case "analytics.viewing":
      return ANALYTICS_VIEWING;
    case "party":
      return partyChannel(info.partyId);
    default:
      throw new RangeError(
        `info.kind is not a channel kind: ${JSON.stringify((info as { kind: unknown }).kind)}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Channel group (spec 2.2)

const GROUP_PREFIX = "user-";
const GROUP_SUFFIX = "-all";

/** Spec 2.2's `user_channel_group`; its unused `region` argument is dropped. */
export function userChannelGroup(userId: string): string {
  return GROUP_PREFIX + requireId("userId", userId) + GROUP_SUFFIX;
}

/** The user id of a `user-{userId}-all` group name. */
export function parseUserChannelGroup(name: string): Result<string> {
  if (
    typeof name !== "string" ||
    name.length <= GROUP_PREFIX.length + GROUP_SUFFIX.length ||
    !name.startsWith(GROUP_PREFIX) ||
    !name.endsWith(GROUP_SUFFIX)
  )
    return invalid("", `expected a channel group name "user-{userId}-all"`);
  const userId = name.slice(GROUP_PREFIX.length, name.length - GROUP_SUFFIX.length);
  const problem = channelIdProblem(userId);
  return problem === undefined ? ok(userId) : invalid("userId", problem);
}

/** The six channels of the user's group, in spec 2.2's order. */
export function userGroupChannels(userId: string, region: string): string[] {
  return [
    userSyncChannel(userId),
    userDevicesChannel(userId),
    userNotificationsChannel(userId),
    regionUpdatesChannel(region),
    GLOBAL_TRENDING,
    GLOBAL_ANNOUNCEMENTS,
  ];
}

// ---------------------------------------------------------------------------------------------
// Parser

const TRENDING_INFO: DataChannelInfo = Object.freeze({ kind: "global.trending" });
const ANNOUNCEMENTS_INFO: DataChannelInfo = Object.freeze({ kind: "global.announcements" });
const ANALYTICS_INFO: DataChannelInfo = Object.freeze({ kind: "analytics.viewing" });

const KNOWN_SHAPES =
  "user.{userId}.sync|devices|notifications, global.trending, global.announcements, " +
  "region.{code}.updates, platform.{platformId}.catalog|status, analytics.viewing, party.{partyId}";

function tooLong(name: string): Result<never> {
  return invalid(
    "",
    `channel name is ${name.length} characters long; PubNub allows at most ${MAX_CHANNEL_NAME_LENGTH}`,
  );
}

function unknownChannel(name: string): Result<never> {
  return invalid("", `unknown channel ${JSON.stringify(name)}; expected one of ${KNOWN_SHAPES}`);
}

/**
 * Reads a channel name that came from the network (a subscription, a message's channel, a
 * history request). The error's `path` names the id field at fault (`userId`, `region`,
 * `platformId`, `partyId`), or is `""` when the name has no known shape.
 */
export function parseChannel(name: string): Result<ChannelInfo> {
  if (typeof name === "string" && name.endsWith(PRESENCE_SUFFIX)) {
    if (name.length > MAX_CHANNEL_NAME_LENGTH) return tooLong(name);
    const base = parseDataChannel(name.slice(0, name.length - PRESENCE_SUFFIX.length));
    if (base.ok) return ok({ kind: "presence", channel: base.value });
    return invalid(base.error.path, `${base.error.reason} (in presence channel ${JSON.stringify(name)})`);
  }
  return parseDataChannel(name);
}

/** The data channel whose presence channel `name` is; an error unless `name` ends in `-pnpres`. */
export function parsePresenceChannel(name: string): Result<DataChannelInfo> {
  if (typeof name !== "string" || !name.endsWith(PRESENCE_SUFFIX))
    return invalid("", `not a presence channel (no ${JSON.stringify(PRESENCE_SUFFIX)} suffix)`);
  return parseDataChannel(name.slice(0, name.length - PRESENCE_SUFFIX.length));
}

export function isPresenceChannel(name: string): boolean {
  return parsePresenceChannel(name).ok;
}

function withId<T>(field: string, id: string, make: (id: string) => T): Result<T> {
  const problem = channelIdProblem(id);
  return problem === undefined ? ok(make(id)) : invalid(field, problem);
}

function parseDataChannel(name: string): Result<DataChannelInfo> {
  if (typeof name !== "string") return invalid("", `expected a string, got ${typeof name}`);
  if (name.length === 0) return invalid("", "channel name must not be empty");
  if (name.length > MAX_CHANNEL_NAME_LENGTH) return tooLong(name);
  const first = name.indexOf(".");
  if (first < 0) return unknownChannel(name);
  const head = name.slice(0, first);
  if (head === "party")
    return withId("partyId", name.slice(first + 1), (partyId) => ({ kind: "party", partyId }));
  if (head === "global" || head === "analytics") {
    if (name === GLOBAL_TRENDING) return ok(TRENDING_INFO);
    if (name === GLOBAL_ANNOUNCEMENTS) return ok(ANNOUNCEMENTS_INFO);
    if (name === ANALYTICS_VIEWING) return ok(ANALYTICS_INFO);
    return unknownChannel(name);
  }
  // The three-segment shapes: `{head}.{id}.{tail}`; the id may not contain `.`.
  const last = name.lastIndexOf(".");
  if (last === first) return unknownChannel(name);
  const tail = name.slice(last + 1);
  const id = name.slice(first + 1, last);
  switch (head) {
    case "user":
      if (tail === "sync") return withId("userId", id, (userId) => ({ kind: "user.sync", userId }));
      if (tail === "devices") return withId("userId", id, (userId) => ({ kind: "user.devices", userId }));
      if (tail === "notifications")
        return withId("userId", id, (userId) => ({ kind: "user.notifications", userId }));
      break;
    case "region":
      if (tail === "updates") return withId("region", id, (region) => ({ kind: "region.updates", region }));
      break;
    case "platform":
      if (tail === "catalog")
        return withId("platformId", id, (platformId) => ({ kind: "platform.catalog", platformId }));
      if (tail === "status")
        return withId("platformId", id, (platformId) => ({ kind: "platform.status", platformId }));
      break;
  }
  return unknownChannel(name);
}

function infoOf(argument: string, channel: string | ChannelInfo): ChannelInfo {
  if (typeof channel !== "string") return channel;
  const parsed = parseChannel(channel);
  if (!parsed.ok)
    throw new RangeError(
      `${argument} is not a known channel (${parsed.error.path === "" ? "" : `${parsed.error.path} `}${parsed.error.reason})`,
    );
  return parsed.value;
}

// ---------------------------------------------------------------------------------------------
// Retention (spec 9.1)

export interface ChannelRetention {
  /** Messages kept in history; 0 means the channel is published with `store=0`. */
  readonly count: number;
  /** How long a message is kept. */
  readonly durationMs: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * For channels 9.1 does not list (platform.status, party.{id}): keep what 9.1 keeps for the
 * live state channel `user.{id}.sync`. A device off overnight still finds the latest status or
 * the recent chat of a party; nothing older is worth keeping for either.
 */
export const DEFAULT_CHANNEL_RETENTION: ChannelRetention = Object.freeze({ count: 100, durationMs: DAY_MS });

const NOT_STORED: ChannelRetention = Object.freeze({ count: 0, durationMs: 0 });

/** History settings per channel kind: the rows of spec 9.1, then our defaults (see above). */
export const CHANNEL_RETENTION: Readonly<Record<ChannelKind, ChannelRetention>> = Object.freeze({
  "user.sync": Object.freeze({ count: 100, durationMs: DAY_MS }),
  "user.devices": Object.freeze({ count: 25, durationMs: HOUR_MS }),
  "user.notifications": Object.freeze({ count: 50, durationMs: 7 * DAY_MS }),
  "global.trending": Object.freeze({ count: 24, durationMs: DAY_MS }),
  "global.announcements": Object.freeze({ count: 100, durationMs: 30 * DAY_MS }),
  "region.updates": Object.freeze({ count: 500, durationMs: 7 * DAY_MS }),
  "platform.catalog": Object.freeze({ count: 1000, durationMs: 14 * DAY_MS }),
  "platform.status": DEFAULT_CHANNEL_RETENTION,
  // High volume, read live by aggregators (spec 4.2), and a log of viewing is what a privacy
  // review would ask us not to keep: not stored.
  "analytics.viewing": NOT_STORED,
  party: DEFAULT_CHANNEL_RETENTION,
  // PubNub does not keep presence events in history; presence is current state (here-now).
  presence: NOT_STORED,
});

/** History retention of a channel; a name that does not parse is a bug here (`RangeError`). */
export function channelRetention(channel: string | ChannelInfo): ChannelRetention {
  const kind = infoOf("channel", channel).kind;
  if (!Object.hasOwn(CHANNEL_RETENTION, kind))
    throw new RangeError(`channel.kind is not a channel kind: ${JSON.stringify(kind)}`);
  return CHANNEL_RETENTION[kind];
}

// ---------------------------------------------------------------------------------------------
// Message types per channel (spec 2.1, 3, 4, 6.4, 8)

/** The `msg_type`s each channel kind carries; anything else published there is rejected. */
export const CHANNEL_MESSAGE_TYPES = Object.freeze({
  "user.sync": Object.freeze([
    "watch_progress_update",
    "watchlist_update",
    "preference_update",
    "state_reconciliation_request",
    "state_reconciliation_response",
  ] as const),
  "user.devices": Object.freeze([
    "device_join",
    "device_leave",
    "device_heartbeat",
    "remote_command",
    "presence_event",
  ] as const),
  "user.notifications": Object.freeze(["user_notification"] as const),
  "global.trending": Object.freeze(["trending_update"] as const),
  "global.announcements": Object.freeze(["announcement"] as const),
  "region.updates": Object.freeze(["content_available", "content_leaving", "pricing_update"] as const),
  "platform.catalog": Object.freeze(["catalog_addition", "catalog_removal", "metadata_update"] as const),
  "platform.status": Object.freeze(["stream_status"] as const),
  "analytics.viewing": Object.freeze(["viewing_analytics"] as const),
  party: Object.freeze(["party_chat"] as const),
  presence: Object.freeze(["presence_event"] as const),
}) satisfies Readonly<Record<ChannelKind, readonly string[]>>;

export type ChannelMessageType = (typeof CHANNEL_MESSAGE_TYPES)[ChannelKind][number];

const ACCEPTS: ReadonlyMap<ChannelKind, ReadonlySet<string>> = new Map(
  CHANNEL_KINDS.map((kind) => [kind, new Set<string>(CHANNEL_MESSAGE_TYPES[kind])]),
);

/**
 * Whether `msgType` may be published on `channel`. A name that does not parse accepts nothing,
 * so a message on an unknown channel is refused rather than guessed at.
 */
export function channelAccepts(channel: string | ChannelInfo, msgType: string): boolean {
  let kind: ChannelKind;
  if (typeof channel === "string") {
    const parsed = parseChannel(channel);
    if (!parsed.ok) return false;
    kind = parsed.value.kind;
  } else {
    kind = channel.kind;
  }
  return ACCEPTS.get(kind)?.has(msgType) === true;
}

// ---------------------------------------------------------------------------------------------
// Patterns (spec 11.1 grants, 12.3 `encrypt_channels`)

/**
 * Why `pattern` is malformed, or `undefined`. A pattern is `.`-separated segments, each either
 * literal text or a lone `*`; see `channelMatchesPattern`.
 */
function patternProblem(pattern: string): string | undefined {
  const length = pattern.length;
  if (length === 0) return "must not be empty";
  if (length > MAX_CHANNEL_NAME_LENGTH)
    return `is ${length} characters long; at most ${MAX_CHANNEL_NAME_LENGTH} are allowed`;
  if (pattern === "*") return "a lone * would match every channel; name the prefix (global.*)";
  let segmentStart = 0;
  for (let i = 0; i <= length; i++) {
    const code = i === length ? DOT : pattern.charCodeAt(i);
    if (code === DOT) {
      if (i === segmentStart) return `has an empty segment at index ${i}`;
      segmentStart = i + 1;
    } else if (
      code === STAR &&
      (i !== segmentStart || (i + 1 < length && pattern.charCodeAt(i + 1) !== DOT))
    ) {
      return `has * inside a segment at index ${i}; * must be a whole segment`;
    }
  }
  return undefined;
}

/** Checks a pattern that came from configuration or a token. */
export function validateChannelPattern(pattern: unknown): Result<string> {
  if (typeof pattern !== "string") return invalid("", `expected a string, got ${typeof pattern}`);
  const problem = patternProblem(pattern);
  return problem === undefined ? ok(pattern) : invalid("", problem);
}

function requirePattern(pattern: string): void {
  if (typeof pattern !== "string") throw new TypeError(`pattern must be a string, got ${typeof pattern}`);
  const problem = patternProblem(pattern);
  if (problem !== undefined) throw new RangeError(`pattern ${problem}: ${JSON.stringify(pattern)}`);
}

/** Whether `channel[from, to)` is one or more non-empty `.`-separated segments. */
function isSegments(channel: string, from: number, to: number): boolean {
  if (from >= to) return false;
  let segmentStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || channel.charCodeAt(i) === DOT) {
      if (i === segmentStart) return false;
      segmentStart = i + 1;
    }
  }
  return true;
}

/**
 * Whether `channel` matches `pattern`, segment by segment (segments are split on `.`):
 * - a literal segment matches only the identical segment (names are case-sensitive);
 * - a `*` that ends the pattern matches ONE OR MORE trailing segments, as PubNub's wildcard
 *   subscribe `a.*` covers everything under `a.`; so spec 11.1's grant `region.*` covers
 *   `region.us.updates`, and `global.*` covers `global.trending`, not `global` itself;
 * - a `*` anywhere else matches EXACTLY ONE segment: not PubNub wildcard-subscribe syntax, but
 *   spec 12.3's `encrypt_channels` is written `user.*.sync`.
 * `*` inside a segment (`glo*`) and a lone `*` are malformed (RangeError). Matching is literal
 * on the name, so `global.*` covers `global.trending-pnpres` but `user.*.devices` does not
 * cover `user.a.devices-pnpres` (write `user.*.devices-pnpres`). The channel itself is not
 * validated; use `parseChannel` for that. Unlike PubNub Access Manager's patterns, which are
 * regular expressions, `.` here is literal: see `channelPatternToRegExpSource`.
 */
export function channelMatchesPattern(channel: string, pattern: string): boolean {
  requirePattern(pattern);
  const channelLength = channel.length;
  const patternLength = pattern.length;
  let p = 0;
  let c = 0;
  for (;;) {
    let pEnd = pattern.indexOf(".", p);
    if (pEnd < 0) pEnd = patternLength;
    const lastPatternSegment = pEnd === patternLength;
    const star = pEnd - p === 1 && pattern.charCodeAt(p) === STAR;
    if (star && lastPatternSegment) return isSegments(channel, c, channelLength);
    let cEnd = channel.indexOf(".", c);
    if (cEnd < 0) cEnd = channelLength;
    if (star) {
      if (cEnd === c) return false;
    } else {
      if (cEnd - c !== pEnd - p) return false;
      for (let i = 0; i < pEnd - p; i++)
        if (channel.charCodeAt(c + i) !== pattern.charCodeAt(p + i)) return false;
    }
    if (lastPatternSegment || cEnd === channelLength) return lastPatternSegment && cEnd === channelLength;
    p = pEnd + 1;
    c = cEnd + 1;
  }
}

/**
 * The anchored regular expression (source text) that matches exactly what `pattern` matches
 * under `channelMatchesPattern`: what to hand PubNub Access Manager, whose patterns are
 * regular expressions, when minting a real token for a grant like spec 11.1's `global.*`.
 */
export function channelPatternToRegExpSource(pattern: string): string {
  requirePattern(pattern);
  const segments = pattern.split(".");
  let out = "^";
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (i > 0) out += "\\.";
    if (segment !== "*") out += segment.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
    else out += i === segments.length - 1 ? "[^.]+(?:\\.[^.]+)*" : "[^.]+";
  }
  return `${out}$`;
}
