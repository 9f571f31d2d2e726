/**
 * fast-check arbitraries for every message type: the sync, notification, broadcast and
 * reconciliation families here, the device family from `device-arbitraries.ts`, and
 * `messageArbitrary()` over all of them. Every value made passes `parseMessage` and survives
 * `decodeMessage(encodeMessage(m))` unchanged: optional fields are absent (never `undefined`),
 * `-0` is never made, and sizes stay well under the 32 KiB limit while strings and numbers
 * still reach their bounds.
 */
import fc from "fast-check";
import type { Dot } from "../causal-context.js";
import {
  ANNOUNCEMENT_KINDS,
  type AnnouncementMessage,
  type CatalogAdditionMessage,
  type CatalogRemovalMessage,
  type ChatContent,
  type ContentAvailableMessage,
  type ContentLeavingMessage,
  MAX_EMOJI_LENGTH,
  type MetadataUpdateMessage,
  type PartyChatMessage,
  type PlatformStatus,
  type PricingUpdateMessage,
  type StreamStatusMessage,
  type TrendingUpdateMessage,
  type ViewingAnalyticsMessage,
  type ViewingEvent,
} from "../messages/broadcast.js";
import { DEVICE_TYPES, MAX_ID_LENGTH, MAX_LABEL_LENGTH, PLAYBACK_STATES } from "../messages/common.js";
import type { Message, MessageType } from "../messages/index.js";
import {
  NOTIFICATION_PRIORITIES,
  type NotificationType,
  type UserNotificationMessage,
} from "../messages/notifications.js";
import {
  type PreferenceEntry,
  type ReconciliationChunk,
  STATE_TYPES,
  type StateReconciliationRequestMessage,
  type StateReconciliationResponseMessage,
  type WatchlistContext,
} from "../messages/reconciliation.js";
import {
  CONTENT_TYPES,
  type ContentSnippet,
  MAX_URL_LENGTH,
  type PreferenceUpdateMessage,
  type WatchlistUpdateMessage,
  type WatchProgressUpdateMessage,
} from "../messages/sync.js";
import {
  deviceHeartbeatArbitrary,
  deviceJoinArbitrary,
  deviceLeaveArbitrary,
  hlcTimestampArbitrary,
  presenceEventArbitrary,
  remoteCommandMessageArbitrary,
} from "./device-arbitraries.js";

// ---------------------------------------------------------------------------------------------
// Fields

const ID_UNITS = [..."abcxyzTV019", ":", "-", "_", ".", "/", "é", "\u{1F4FA}"];

/** Wire ids: mostly short, sometimes exactly `MAX_ID_LENGTH` code units (ending in a surrogate pair). */
export function wireIdArbitrary(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 19, arbitrary: fc.string({ unit: fc.constantFrom(...ID_UNITS), minLength: 1, maxLength: 16 }) },
    { weight: 1, arbitrary: fc.constant(`${"i".repeat(MAX_ID_LENGTH - 2)}\u{1F4FA}`) },
  );
}

/** Human text of at most `max` code units: any code points (controls, lone surrogates), or ASCII at the bound. */
function textArbitrary(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    {
      weight: 19,
      arbitrary: fc
        .string({ unit: "binary", minLength: min, maxLength: Math.min(12, max) })
        .filter((s) => s.length >= min && s.length <= max),
    },
    { weight: 1, arbitrary: fc.constant("t".repeat(max)) },
  );
}

const labelArbitrary = (): fc.Arbitrary<string> => textArbitrary(1, MAX_LABEL_LENGTH);

function fractionArbitrary(): fc.Arbitrary<number> {
  return fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0);
}

/** u32 seconds, reaching both ends. */
function secondsArbitrary(): fc.Arbitrary<number> {
  return fc.oneof(fc.nat(100_000), fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0, 0xffff_ffff));
}

function urlArbitrary(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 9, arbitrary: fc.webUrl().filter((u) => u.length <= MAX_URL_LENGTH) },
    { weight: 1, arbitrary: fc.constant(`https://x/${"p".repeat(MAX_URL_LENGTH - 10)}`) },
  );
}

/** RFC 3339 date-times as chrono writes them, plus offsets, lower case, 9-digit fractions and a leap second. */
export function rfc3339Arbitrary(): fc.Arbitrary<string> {
  return fc.oneof(
    fc
      .date({
        min: new Date("0000-01-01T00:00:00Z"),
        max: new Date("9999-12-31T23:59:59Z"),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    fc.constantFrom(
      "2024-12-06T18:00:00Z",
      "2024-02-29T23:59:60+05:30",
      "2024-12-06t18:00:00.123456789z",
      "1999-12-31T23:59:59-12:00",
    ),
  );
}

function regionArbitrary(): fc.Arbitrary<string> {
  return fc.oneof(fc.constantFrom("us-east", "us-west", "ca", "uk", "eu", "au", "jp"), wireIdArbitrary());
}

function optionalKeys<T>(keys: readonly (keyof T)[]): { requiredKeys: (keyof T)[]; noNullPrototype: true } {
  return { requiredKeys: [...keys], noNullPrototype: true };
}

// ---------------------------------------------------------------------------------------------
// sync

export function watchProgressUpdateArbitrary(): fc.Arbitrary<WatchProgressUpdateMessage> {
  const positions = fc.oneof(
    fc
      .tuple(secondsArbitrary(), secondsArbitrary())
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
    // Unknown duration (a live stream): any position, completion 0 by convention.
    secondsArbitrary().map((p) => [p, 0] as const),
  );
  return fc
    .record({
      positions,
      content_id: wireIdArbitrary(),
      completion_percent: fractionArbitrary(),
      timestamp: hlcTimestampArbitrary(),
      device_id: wireIdArbitrary(),
      device_type: fc.constantFrom(...DEVICE_TYPES),
      state: fc.constantFrom(...PLAYBACK_STATES),
    })
    .map(({ positions: [progress, duration], ...rest }) => ({
      msg_type: "watch_progress_update",
      content_id: rest.content_id,
      progress_seconds: progress,
      duration_seconds: duration,
      completion_percent: rest.completion_percent,
      timestamp: rest.timestamp,
      device_id: rest.device_id,
      device_type: rest.device_type,
      state: rest.state,
    }));
}

export function dotArbitrary(): fc.Arbitrary<Dot> {
  return fc.tuple(
    wireIdArbitrary(),
    fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  );
}

export function contentSnippetArbitrary(): fc.Arbitrary<ContentSnippet> {
  return fc.record(
    {
      title: labelArbitrary(),
      year: fc.option(fc.integer({ min: 1800, max: 3000 }), { nil: null }),
      poster_url: fc.option(urlArbitrary(), { nil: null }),
      content_type: fc.constantFrom(...CONTENT_TYPES),
    },
    optionalKeys<ContentSnippet>(["title", "content_type"]),
  );
}

export interface WatchlistUpdateArbitraryOptions {
  /** Only this operation (default both). */
  readonly operation?: "Add" | "Remove";
}

export function watchlistUpdateArbitrary(
  options: WatchlistUpdateArbitraryOptions = {},
): fc.Arbitrary<WatchlistUpdateMessage> {
  const base = {
    msg_type: fc.constant("watchlist_update" as const),
    content_id: wireIdArbitrary(),
    timestamp: hlcTimestampArbitrary(),
    device_id: wireIdArbitrary(),
    unique_tag: fc.oneof(fc.uuid(), wireIdArbitrary()),
    content_metadata: fc.option(contentSnippetArbitrary(), { nil: null }),
    observed: fc.array(dotArbitrary(), { maxLength: 4 }),
  };
  const required = ["msg_type", "operation", "content_id", "timestamp", "device_id", "unique_tag"] as const;
  const add = fc.record(
    { ...base, operation: fc.constant("Add" as const), dot: dotArbitrary() },
    { requiredKeys: [...required], noNullPrototype: true },
  );
  // A Remove mints no dot.
  const remove = fc.record(
    { ...base, operation: fc.constant("Remove" as const) },
    { requiredKeys: [...required], noNullPrototype: true },
  );
  if (options.operation === "Add") return add;
  if (options.operation === "Remove") return remove;
  return fc.oneof(add, remove);
}

/** Preference values: any JSON, nested a few levels (the limit is 8), `null` for a reset. */
function preferenceValueArbitrary(): fc.Arbitrary<unknown> {
  // Through JSON once, so the value is one JSON can carry exactly (fc.jsonValue may hold -0).
  return fc.oneof(
    fc.constant(null),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown),
  );
}

export function preferenceUpdateArbitrary(): fc.Arbitrary<PreferenceUpdateMessage> {
  return fc.record({
    msg_type: fc.constant("preference_update" as const),
    key: fc.oneof(fc.constantFrom("subtitles.language", "autoplay", "volume"), wireIdArbitrary()),
    value: preferenceValueArbitrary(),
    timestamp: hlcTimestampArbitrary(),
    device_id: wireIdArbitrary(),
  });
}

// ---------------------------------------------------------------------------------------------
// notifications

export function notificationTypeArbitrary(): fc.Arbitrary<NotificationType> {
  return fc.oneof(
    fc
      .record({ content_id: wireIdArbitrary(), days_remaining: fc.integer({ min: 0, max: 255 }) })
      .map((ContentExpiring): NotificationType => ({ ContentExpiring })),
    fc
      .array(wireIdArbitrary(), { maxLength: 5 })
      .map((content_ids): NotificationType => ({ NewRecommendation: { content_ids } })),
    fc
      .record({ friend_id: wireIdArbitrary(), activity: labelArbitrary() })
      .map((SocialUpdate): NotificationType => ({ SocialUpdate })),
    fc
      .oneof(fc.constantFrom("info", "warning", "critical"), labelArbitrary())
      .map((severity): NotificationType => ({ SystemAlert: { severity } })),
  );
}

export function userNotificationArbitrary(): fc.Arbitrary<UserNotificationMessage> {
  return fc.record(
    {
      msg_type: fc.constant("user_notification" as const),
      notification_id: fc.oneof(fc.uuid(), wireIdArbitrary()),
      notification_type: notificationTypeArbitrary(),
      priority: fc.constantFrom(...NOTIFICATION_PRIORITIES),
      title: labelArbitrary(),
      body: textArbitrary(0, 4096),
      action_url: fc.option(urlArbitrary(), { nil: null }),
      timestamp: hlcTimestampArbitrary(),
      expires_at: fc.option(hlcTimestampArbitrary(), { nil: null }),
    },
    optionalKeys<UserNotificationMessage>([
      "msg_type",
      "notification_id",
      "notification_type",
      "priority",
      "title",
      "body",
      "timestamp",
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// broadcast

export function platformStatusArbitrary(): fc.Arbitrary<PlatformStatus> {
  return fc.oneof(
    fc.constant<PlatformStatus>("Operational"),
    labelArbitrary().map((reason): PlatformStatus => ({ Degraded: { reason } })),
    labelArbitrary().map((reason): PlatformStatus => ({ Outage: { reason } })),
    rfc3339Arbitrary().map((end_time): PlatformStatus => ({ Maintenance: { end_time } })),
  );
}

export function streamStatusArbitrary(): fc.Arbitrary<StreamStatusMessage> {
  return fc.record(
    {
      msg_type: fc.constant("stream_status" as const),
      platform_id: fc.oneof(fc.constantFrom("netflix", "prime", "disney"), wireIdArbitrary()),
      status: platformStatusArbitrary(),
      timestamp: hlcTimestampArbitrary(),
      affected_regions: fc.array(regionArbitrary(), { maxLength: 4 }),
      estimated_resolution: fc.option(rfc3339Arbitrary(), { nil: null }),
    },
    optionalKeys<StreamStatusMessage>(["msg_type", "platform_id", "status", "timestamp", "affected_regions"]),
  );
}

export function viewingEventArbitrary(): fc.Arbitrary<ViewingEvent> {
  return fc.oneof(
    fc.constantFrom<ViewingEvent>("Started", "Completed"),
    fractionArbitrary().map((percent_watched): ViewingEvent => ({ Abandoned: { percent_watched } })),
  );
}

export function viewingAnalyticsArbitrary(): fc.Arbitrary<ViewingAnalyticsMessage> {
  return fc.record({
    msg_type: fc.constant("viewing_analytics" as const),
    content_id: wireIdArbitrary(),
    event_type: viewingEventArbitrary(),
    anonymized_user_segment: fc.oneof(fc.constantFrom("sci-fi-enthusiast", "comedy-lover"), labelArbitrary()),
    region: regionArbitrary(),
    platform: wireIdArbitrary(),
    timestamp: hlcTimestampArbitrary(),
  });
}

export function chatContentArbitrary(): fc.Arbitrary<ChatContent> {
  return fc.oneof(
    textArbitrary(1, 4096).map((text): ChatContent => ({ type: "Text", data: { text } })),
    fc
      .oneof(fc.constantFrom("🍿", "👨‍👩‍👧‍👦", "🏳️‍🌈"), textArbitrary(1, MAX_EMOJI_LENGTH))
      .map((emoji): ChatContent => ({ type: "Emoji", data: { emoji } })),
    fc
      .record({ reaction_type: labelArbitrary(), target_timestamp: hlcTimestampArbitrary() })
      .map((data): ChatContent => ({ type: "Reaction", data })),
    secondsArbitrary().map(
      (position_seconds): ChatContent => ({ type: "PlaybackSync", data: { position_seconds } }),
    ),
  );
}

export function partyChatArbitrary(): fc.Arbitrary<PartyChatMessage> {
  return fc.record({
    msg_type: fc.constant("party_chat" as const),
    party_id: wireIdArbitrary(),
    user_id: wireIdArbitrary(),
    user_display_name: labelArbitrary(),
    message: chatContentArbitrary(),
    timestamp: hlcTimestampArbitrary(),
  });
}

export function trendingUpdateArbitrary(): fc.Arbitrary<TrendingUpdateMessage> {
  const item = fc.record(
    {
      rank: fc.integer({ min: 1, max: 100 }),
      content_id: wireIdArbitrary(),
      score: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0),
    },
    { requiredKeys: ["rank", "content_id"], noNullPrototype: true },
  );
  return fc.record(
    {
      msg_type: fc.constant("trending_update" as const),
      timestamp: hlcTimestampArbitrary(),
      region: regionArbitrary(),
      items: fc.array(item, { maxLength: 5 }),
    },
    optionalKeys<TrendingUpdateMessage>(["msg_type", "timestamp", "items"]),
  );
}

export function announcementArbitrary(): fc.Arbitrary<AnnouncementMessage> {
  return fc.record(
    {
      msg_type: fc.constant("announcement" as const),
      announcement_id: fc.oneof(fc.uuid(), wireIdArbitrary()),
      kind: fc.constantFrom(...ANNOUNCEMENT_KINDS),
      title: labelArbitrary(),
      body: textArbitrary(0, 4096),
      timestamp: hlcTimestampArbitrary(),
      starts_at: rfc3339Arbitrary(),
      ends_at: rfc3339Arbitrary(),
    },
    optionalKeys<AnnouncementMessage>(["msg_type", "announcement_id", "kind", "title", "body", "timestamp"]),
  );
}

export function contentAvailableArbitrary(): fc.Arbitrary<ContentAvailableMessage> {
  return fc.record(
    {
      msg_type: fc.constant("content_available" as const),
      content_id: wireIdArbitrary(),
      region: regionArbitrary(),
      platform_id: wireIdArbitrary(),
      timestamp: hlcTimestampArbitrary(),
      available_from: rfc3339Arbitrary(),
    },
    optionalKeys<ContentAvailableMessage>(["msg_type", "content_id", "region", "platform_id", "timestamp"]),
  );
}

export function contentLeavingArbitrary(): fc.Arbitrary<ContentLeavingMessage> {
  return fc.record({
    msg_type: fc.constant("content_leaving" as const),
    content_id: wireIdArbitrary(),
    region: regionArbitrary(),
    platform_id: wireIdArbitrary(),
    timestamp: hlcTimestampArbitrary(),
    leaves_at: rfc3339Arbitrary(),
  });
}

export function pricingUpdateArbitrary(): fc.Arbitrary<PricingUpdateMessage> {
  return fc.record({
    msg_type: fc.constant("pricing_update" as const),
    region: regionArbitrary(),
    platform_id: wireIdArbitrary(),
    plan_id: fc.oneof(fc.constantFrom("basic", "standard", "premium"), wireIdArbitrary()),
    price_minor: fc.oneof(fc.nat(100_000), fc.constant(Number.MAX_SAFE_INTEGER)),
    currency: fc.constantFrom("USD", "EUR", "GBP", "JPY"),
    effective_at: rfc3339Arbitrary(),
    timestamp: hlcTimestampArbitrary(),
  });
}

export function catalogAdditionArbitrary(): fc.Arbitrary<CatalogAdditionMessage> {
  return fc.record(
    {
      msg_type: fc.constant("catalog_addition" as const),
      platform_id: wireIdArbitrary(),
      content_id: wireIdArbitrary(),
      title: labelArbitrary(),
      content_type: fc.constantFrom(...CONTENT_TYPES),
      timestamp: hlcTimestampArbitrary(),
      year: fc.integer({ min: 1800, max: 3000 }),
      regions: fc.array(regionArbitrary(), { maxLength: 3 }),
    },
    optionalKeys<CatalogAdditionMessage>([
      "msg_type",
      "platform_id",
      "content_id",
      "title",
      "content_type",
      "timestamp",
    ]),
  );
}

export function catalogRemovalArbitrary(): fc.Arbitrary<CatalogRemovalMessage> {
  return fc.record(
    {
      msg_type: fc.constant("catalog_removal" as const),
      platform_id: wireIdArbitrary(),
      content_id: wireIdArbitrary(),
      timestamp: hlcTimestampArbitrary(),
      regions: fc.array(regionArbitrary(), { maxLength: 3 }),
    },
    optionalKeys<CatalogRemovalMessage>(["msg_type", "platform_id", "content_id", "timestamp"]),
  );
}

export function metadataUpdateArbitrary(): fc.Arbitrary<MetadataUpdateMessage> {
  return fc.record({
    msg_type: fc.constant("metadata_update" as const),
    platform_id: wireIdArbitrary(),
    content_id: wireIdArbitrary(),
    timestamp: hlcTimestampArbitrary(),
    changes: fc.record(
      {
        title: labelArbitrary(),
        description: textArbitrary(0, 4096),
        cast: fc.array(labelArbitrary(), { maxLength: 3 }),
        year: fc.integer({ min: 1800, max: 3000 }),
      },
      { requiredKeys: [], noNullPrototype: true },
    ),
  });
}

// ---------------------------------------------------------------------------------------------
// reconciliation

export function stateReconciliationRequestArbitrary(): fc.Arbitrary<StateReconciliationRequestMessage> {
  return fc.record(
    {
      msg_type: fc.constant("state_reconciliation_request" as const),
      device_id: wireIdArbitrary(),
      last_known_state_timestamp: hlcTimestampArbitrary(),
      requested_states: fc.shuffledSubarray([...STATE_TYPES], { minLength: 1 }),
      request_id: wireIdArbitrary(),
    },
    optionalKeys<StateReconciliationRequestMessage>([
      "msg_type",
      "device_id",
      "last_known_state_timestamp",
      "requested_states",
    ]),
  );
}

function preferenceEntryArbitrary(): fc.Arbitrary<PreferenceEntry> {
  return fc.record({
    value: preferenceValueArbitrary(),
    timestamp: hlcTimestampArbitrary(),
    device_id: wireIdArbitrary(),
  });
}

export function watchlistContextArbitrary(): fc.Arbitrary<WatchlistContext> {
  const counter = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(Number.MAX_SAFE_INTEGER));
  const range = fc.tuple(counter, counter).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
  return fc.dictionary(wireIdArbitrary(), fc.array(range, { maxLength: 3 }), {
    maxKeys: 3,
    noNullPrototype: true,
  });
}

function chunkArbitrary(): fc.Arbitrary<ReconciliationChunk> {
  return fc
    .tuple(fc.nat(20), fc.nat(20))
    .map(([a, b]) => ({ index: Math.min(a, b), count: Math.max(a, b) + 1 }));
}

export function stateReconciliationResponseArbitrary(): fc.Arbitrary<StateReconciliationResponseMessage> {
  return fc.record(
    {
      msg_type: fc.constant("state_reconciliation_response" as const),
      watch_progress: fc.array(watchProgressUpdateArbitrary(), { maxLength: 2 }),
      watchlist: fc.array(watchlistUpdateArbitrary({ operation: "Add" }), { maxLength: 2 }),
      preferences: fc.option(
        fc.dictionary(wireIdArbitrary(), preferenceEntryArbitrary(), { maxKeys: 2, noNullPrototype: true }),
        { nil: null },
      ),
      devices: fc.array(deviceHeartbeatArbitrary(), { maxLength: 1 }),
      server_timestamp: hlcTimestampArbitrary(),
      watchlist_context: watchlistContextArbitrary(),
      request_id: wireIdArbitrary(),
      responder_device_id: wireIdArbitrary(),
      chunk: chunkArbitrary(),
    },
    optionalKeys<StateReconciliationResponseMessage>([
      "msg_type",
      "watch_progress",
      "watchlist",
      "preferences",
      "devices",
      "server_timestamp",
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// all

/** One arbitrary per `msg_type`, every family included. */
export function messageArbitraries(): {
  readonly [K in MessageType]: fc.Arbitrary<Extract<Message, { msg_type: K }>>;
} {
  return {
    watch_progress_update: watchProgressUpdateArbitrary(),
    watchlist_update: watchlistUpdateArbitrary(),
    preference_update: preferenceUpdateArbitrary(),
    device_join: deviceJoinArbitrary(),
    device_leave: deviceLeaveArbitrary(),
    device_heartbeat: deviceHeartbeatArbitrary(),
    remote_command: remoteCommandMessageArbitrary(),
    presence_event: presenceEventArbitrary(),
    user_notification: userNotificationArbitrary(),
    stream_status: streamStatusArbitrary(),
    viewing_analytics: viewingAnalyticsArbitrary(),
    party_chat: partyChatArbitrary(),
    trending_update: trendingUpdateArbitrary(),
    announcement: announcementArbitrary(),
    content_available: contentAvailableArbitrary(),
    content_leaving: contentLeavingArbitrary(),
    pricing_update: pricingUpdateArbitrary(),
    catalog_addition: catalogAdditionArbitrary(),
    catalog_removal: catalogRemovalArbitrary(),
    metadata_update: metadataUpdateArbitrary(),
    state_reconciliation_request: stateReconciliationRequestArbitrary(),
    state_reconciliation_response: stateReconciliationResponseArbitrary(),
  };
}

/** Any message of any type, each type equally likely. */
export function messageArbitrary(): fc.Arbitrary<Message> {
  const all: fc.Arbitrary<Message>[] = Object.values(messageArbitraries());
  return fc.oneof(...all);
}
