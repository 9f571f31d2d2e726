/**
 * One-to-many messages that are not per-user CRDT state: stream status (spec 4.1), viewing
 * analytics (4.2), watch-party chat (4.3), and the broadcast channels of spec 2.1
 * (`global.trending`, `global.announcements`, `region.{code}.updates`,
 * `platform.{id}.catalog`). Spec 2.1 names the last group's message types but gives no
 * payloads; those shapes are ours (docs/protocol.md), kept small and fully validated.
 * Time of day that people read (maintenance windows, availability dates) is RFC 3339, as the
 * spec's `DateTime<Utc>` fields serialise; causal time is an HLC timestamp (DEVIATIONS 1).
 */
import {
  array,
  type Check,
  externallyTagged,
  fail,
  integer,
  literal,
  nullable,
  number,
  object,
  oneOf,
  string,
  taggedUnion,
} from "../schema.js";
import { hlcTimestamp, id, MAX_TEXT_LENGTH, nonEmptyLabel, seconds, text } from "./common.js";
import { type ContentType, contentType, fraction } from "./sync.js";

// ---------------------------------------------------------------------------------------------
// Shared fields

const RFC_3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * An RFC 3339 date-time (`2024-12-06T18:00:00Z`, `…T20:00:00.5+02:00`), the JSON form of
 * chrono's `DateTime<Utc>` in spec 4.1. Checks the calendar too: `2024-02-30` is rejected.
 */
export const rfc3339: Check<string> = (value) => {
  if (typeof value !== "string" || value.length > 40) fail("expected an RFC 3339 date-time string");
  const m = RFC_3339.exec(value);
  if (m === null) fail("expected an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM))");
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) fail(`month ${m[2]} is out of range`);
  if (day < 1 || day > daysInMonth(year, month)) fail(`day ${m[3]} is out of range`);
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) fail("time of day is out of range");
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) fail("UTC offset is out of range");
  return value;
};

/** Most regions one message may name. */
export const MAX_REGIONS = 64;
const regions = array(id, { max: MAX_REGIONS });

// ---------------------------------------------------------------------------------------------
// stream_status (spec 4.1, channel platform.{platformId}.status)

export type PlatformStatus =
  | "Operational"
  | { readonly Degraded: { readonly reason: string } }
  | { readonly Outage: { readonly reason: string } }
  | { readonly Maintenance: { readonly end_time: string } };

export const checkPlatformStatus: Check<PlatformStatus> = externallyTagged(["Operational"] as const, {
  Degraded: object({ reason: nonEmptyLabel }),
  Outage: object({ reason: nonEmptyLabel }),
  Maintenance: object({ end_time: rfc3339 }),
});

export interface StreamStatusMessage {
  readonly msg_type: "stream_status";
  readonly platform_id: string;
  readonly status: PlatformStatus;
  readonly timestamp: number;
  readonly affected_regions: readonly string[];
  /** RFC 3339; absent means `null`: unknown. */
  readonly estimated_resolution?: string | null;
}

export const checkStreamStatus: Check<StreamStatusMessage> = object(
  {
    msg_type: literal("stream_status"),
    platform_id: id,
    status: checkPlatformStatus,
    timestamp: hlcTimestamp,
    affected_regions: regions,
  },
  { estimated_resolution: nullable(rfc3339) },
);

// ---------------------------------------------------------------------------------------------
// viewing_analytics (spec 4.2, channel analytics.viewing)

export type ViewingEvent =
  | "Started"
  | "Completed"
  | { readonly Abandoned: { readonly percent_watched: number } };

export const checkViewingEvent: Check<ViewingEvent> = externallyTagged(["Started", "Completed"] as const, {
  Abandoned: object({ percent_watched: fraction }),
});

export interface ViewingAnalyticsMessage {
  readonly msg_type: "viewing_analytics";
  readonly content_id: string;
  readonly event_type: ViewingEvent;
  readonly anonymized_user_segment: string;
  readonly region: string;
  readonly platform: string;
  readonly timestamp: number;
}

export const checkViewingAnalytics: Check<ViewingAnalyticsMessage> = object({
  msg_type: literal("viewing_analytics"),
  content_id: id,
  event_type: checkViewingEvent,
  anonymized_user_segment: nonEmptyLabel,
  region: id,
  platform: id,
  timestamp: hlcTimestamp,
});

// ---------------------------------------------------------------------------------------------
// party_chat (spec 4.3, channel party.{partyId})

/** Longest emoji sequence (ZWJ families and tag flags run to a dozen or more code units). */
export const MAX_EMOJI_LENGTH = 64;

/** serde's adjacently tagged form, `#[serde(tag = "type", content = "data")]` (spec 4.3). */
export type ChatContent =
  | { readonly type: "Text"; readonly data: { readonly text: string } }
  | { readonly type: "Emoji"; readonly data: { readonly emoji: string } }
  | {
      readonly type: "Reaction";
      readonly data: { readonly reaction_type: string; readonly target_timestamp: number };
    }
  | { readonly type: "PlaybackSync"; readonly data: { readonly position_seconds: number } };

export const checkChatContent: Check<ChatContent> = taggedUnion<ChatContent>("type", {
  Text: object({
    type: literal("Text"),
    data: object({ text: string({ min: 1, max: MAX_TEXT_LENGTH }) }),
  }),
  Emoji: object({
    type: literal("Emoji"),
    data: object({ emoji: string({ min: 1, max: MAX_EMOJI_LENGTH }) }),
  }),
  Reaction: object({
    type: literal("Reaction"),
    // target_timestamp is the HLC timestamp of the chat message reacted to.
    data: object({ reaction_type: nonEmptyLabel, target_timestamp: hlcTimestamp }),
  }),
  PlaybackSync: object({ type: literal("PlaybackSync"), data: object({ position_seconds: seconds }) }),
});

export interface PartyChatMessage {
  readonly msg_type: "party_chat";
  readonly party_id: string;
  readonly user_id: string;
  readonly user_display_name: string;
  readonly message: ChatContent;
  readonly timestamp: number;
}

export const checkPartyChat: Check<PartyChatMessage> = object({
  msg_type: literal("party_chat"),
  party_id: id,
  user_id: id,
  user_display_name: nonEmptyLabel,
  message: checkChatContent,
  timestamp: hlcTimestamp,
});

// ---------------------------------------------------------------------------------------------
// trending_update (spec 2.1 global.trending: "top 100 content, updated hourly"; payload ours)

export const MAX_TRENDING_ITEMS = 100;

export interface TrendingItem {
  /** 1 is the top. */
  readonly rank: number;
  readonly content_id: string;
  /** The recommender's score; comparable only within one update. */
  readonly score?: number;
}

export interface TrendingUpdateMessage {
  readonly msg_type: "trending_update";
  readonly timestamp: number;
  /** Absent: the global list. */
  readonly region?: string;
  readonly items: readonly TrendingItem[];
}

export const checkTrendingUpdate: Check<TrendingUpdateMessage> = object(
  {
    msg_type: literal("trending_update"),
    timestamp: hlcTimestamp,
    items: array(
      object({ rank: integer({ min: 1, max: MAX_TRENDING_ITEMS }), content_id: id }, { score: number() }),
      { max: MAX_TRENDING_ITEMS },
    ),
  },
  { region: id },
);

// ---------------------------------------------------------------------------------------------
// announcement (spec 2.1 global.announcements; payload ours)

export const ANNOUNCEMENT_KINDS = ["system_maintenance", "feature_launch", "emergency_alert"] as const;
export type AnnouncementKind = (typeof ANNOUNCEMENT_KINDS)[number];

export interface AnnouncementMessage {
  readonly msg_type: "announcement";
  /** Receivers deduplicate by it (DEVIATIONS 6: non-CRDT messages carry an id). */
  readonly announcement_id: string;
  readonly kind: AnnouncementKind;
  readonly title: string;
  readonly body: string;
  readonly timestamp: number;
  /** RFC 3339; absent: from now. */
  readonly starts_at?: string;
  /** RFC 3339; absent: until replaced. */
  readonly ends_at?: string;
}

export const checkAnnouncement: Check<AnnouncementMessage> = object(
  {
    msg_type: literal("announcement"),
    announcement_id: id,
    kind: oneOf(ANNOUNCEMENT_KINDS),
    title: nonEmptyLabel,
    body: text,
    timestamp: hlcTimestamp,
  },
  { starts_at: rfc3339, ends_at: rfc3339 },
);

// ---------------------------------------------------------------------------------------------
// region.{code}.updates (spec 2.1; payloads ours)

export interface ContentAvailableMessage {
  readonly msg_type: "content_available";
  readonly content_id: string;
  readonly region: string;
  readonly platform_id: string;
  readonly timestamp: number;
  /** RFC 3339; absent: available now. */
  readonly available_from?: string;
}

export const checkContentAvailable: Check<ContentAvailableMessage> = object(
  {
    msg_type: literal("content_available"),
    content_id: id,
    region: id,
    platform_id: id,
    timestamp: hlcTimestamp,
  },
  { available_from: rfc3339 },
);

export interface ContentLeavingMessage {
  readonly msg_type: "content_leaving";
  readonly content_id: string;
  readonly region: string;
  readonly platform_id: string;
  readonly timestamp: number;
  /** RFC 3339: when the content stops being available. */
  readonly leaves_at: string;
}

export const checkContentLeaving: Check<ContentLeavingMessage> = object({
  msg_type: literal("content_leaving"),
  content_id: id,
  region: id,
  platform_id: id,
  timestamp: hlcTimestamp,
  leaves_at: rfc3339,
});

/** ISO 4217 alphabetic code. */
export const currency: Check<string> = string({
  min: 3,
  max: 3,
  pattern: /^[A-Z]{3}$/,
  patternName: "an ISO 4217 currency code (3 capital letters)",
});

export interface PricingUpdateMessage {
  readonly msg_type: "pricing_update";
  readonly region: string;
  readonly platform_id: string;
  readonly plan_id: string;
  /** In the currency's minor unit (cents): money is never a float. */
  readonly price_minor: number;
  readonly currency: string;
  /** RFC 3339. */
  readonly effective_at: string;
  readonly timestamp: number;
}

export const checkPricingUpdate: Check<PricingUpdateMessage> = object({
  msg_type: literal("pricing_update"),
  region: id,
  platform_id: id,
  plan_id: id,
  price_minor: integer({ min: 0 }),
  currency,
  effective_at: rfc3339,
  timestamp: hlcTimestamp,
});

// ---------------------------------------------------------------------------------------------
// platform.{id}.catalog (spec 2.1; payloads ours)

const year = integer({ min: 1800, max: 3000 });

export interface CatalogAdditionMessage {
  readonly msg_type: "catalog_addition";
  readonly platform_id: string;
  readonly content_id: string;
  readonly title: string;
  readonly content_type: ContentType;
  readonly timestamp: number;
  readonly year?: number;
  /** Absent: every region the platform serves. */
  readonly regions?: readonly string[];
}

export const checkCatalogAddition: Check<CatalogAdditionMessage> = object(
  {
    msg_type: literal("catalog_addition"),
    platform_id: id,
    content_id: id,
    title: nonEmptyLabel,
    content_type: contentType,
    timestamp: hlcTimestamp,
  },
  { year, regions },
);

export interface CatalogRemovalMessage {
  readonly msg_type: "catalog_removal";
  readonly platform_id: string;
  readonly content_id: string;
  readonly timestamp: number;
  /** Absent: every region the platform serves. */
  readonly regions?: readonly string[];
}

export const checkCatalogRemoval: Check<CatalogRemovalMessage> = object(
  {
    msg_type: literal("catalog_removal"),
    platform_id: id,
    content_id: id,
    timestamp: hlcTimestamp,
  },
  { regions },
);

export const MAX_CAST = 200;

/** The fields that changed; absent fields are unchanged. */
export interface MetadataChanges {
  readonly title?: string;
  readonly description?: string;
  readonly cast?: readonly string[];
  readonly year?: number;
}

export interface MetadataUpdateMessage {
  readonly msg_type: "metadata_update";
  readonly platform_id: string;
  readonly content_id: string;
  readonly timestamp: number;
  readonly changes: MetadataChanges;
}

export const checkMetadataUpdate: Check<MetadataUpdateMessage> = object({
  msg_type: literal("metadata_update"),
  platform_id: id,
  content_id: id,
  timestamp: hlcTimestamp,
  changes: object(
    {},
    { title: nonEmptyLabel, description: text, cast: array(nonEmptyLabel, { max: MAX_CAST }), year },
  ),
});

export const broadcastMessageChecks = {
  stream_status: checkStreamStatus,
  viewing_analytics: checkViewingAnalytics,
  party_chat: checkPartyChat,
  trending_update: checkTrendingUpdate,
  announcement: checkAnnouncement,
  content_available: checkContentAvailable,
  content_leaving: checkContentLeaving,
  pricing_update: checkPricingUpdate,
  catalog_addition: checkCatalogAddition,
  catalog_removal: checkCatalogRemoval,
  metadata_update: checkMetadataUpdate,
} as const;

export type BroadcastMessage =
  | StreamStatusMessage
  | ViewingAnalyticsMessage
  | PartyChatMessage
  | TrendingUpdateMessage
  | AnnouncementMessage
  | ContentAvailableMessage
  | ContentLeavingMessage
  | PricingUpdateMessage
  | CatalogAdditionMessage
  | CatalogRemovalMessage
  | MetadataUpdateMessage;
