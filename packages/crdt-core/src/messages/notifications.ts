/**
 * The `user.{userId}.notifications` family (spec 2.1, 4.4): published by backend services
 * only. Not a CRDT: each notification carries `notification_id`, and receivers deduplicate
 * by it (DEVIATIONS 6).
 */
import { array, type Check, externallyTagged, integer, literal, nullable, object, oneOf } from "../schema.js";
import { hlcTimestamp, id, nonEmptyLabel, text } from "./common.js";
import { url } from "./sync.js";

/** Most content ids one `NewRecommendation` may carry (a row of picks, not a catalogue). */
export const MAX_RECOMMENDED_CONTENT = 100;

/** serde's default (externally tagged) enum form, as spec 4.4 derives it. */
export type NotificationType =
  | { readonly ContentExpiring: { readonly content_id: string; readonly days_remaining: number } }
  | { readonly NewRecommendation: { readonly content_ids: readonly string[] } }
  | { readonly SocialUpdate: { readonly friend_id: string; readonly activity: string } }
  | { readonly SystemAlert: { readonly severity: string } };

export const checkNotificationType: Check<NotificationType> = externallyTagged([], {
  ContentExpiring: object({ content_id: id, days_remaining: integer({ min: 0, max: 255 }) }),
  NewRecommendation: object({ content_ids: array(id, { max: MAX_RECOMMENDED_CONTENT }) }),
  SocialUpdate: object({ friend_id: id, activity: nonEmptyLabel }),
  SystemAlert: object({ severity: nonEmptyLabel }),
});

export const NOTIFICATION_PRIORITIES = ["Low", "Medium", "High", "Critical"] as const;
export type NotificationPriority = (typeof NOTIFICATION_PRIORITIES)[number];
export const notificationPriority = oneOf(NOTIFICATION_PRIORITIES);

export interface UserNotificationMessage {
  readonly msg_type: "user_notification";
  readonly notification_id: string;
  readonly notification_type: NotificationType;
  readonly priority: NotificationPriority;
  readonly title: string;
  readonly body: string;
  /** Absent means `null`: no action. */
  readonly action_url?: string | null;
  readonly timestamp: number;
  /** HLC; absent means `null`: never expires. */
  readonly expires_at?: number | null;
}

export const checkUserNotification: Check<UserNotificationMessage> = object(
  {
    msg_type: literal("user_notification"),
    notification_id: id,
    notification_type: checkNotificationType,
    priority: notificationPriority,
    title: nonEmptyLabel,
    body: text,
    timestamp: hlcTimestamp,
  },
  { action_url: nullable(url), expires_at: nullable(hlcTimestamp) },
);

export const notificationMessageChecks = {
  user_notification: checkUserNotification,
} as const;

export type NotificationMessage = UserNotificationMessage;
