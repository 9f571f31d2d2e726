/**
 * Publish (GET, and POST with a deflated body) and signal (research §5.2, §5.3): validate,
 * authorize `write`, store (when the channel keeps history and `store` is not 0), then fan out
 * to subscribers, and only then acknowledge, so "acknowledged means stored".
 */

import type { RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";
import type { Envelope } from "../subscribe-feed.js";
import { pubnubDecode, pubnubEncode } from "../wire.js";

/** PubNub's signal limit (docs): 64 bytes of payload. */
export const MAX_SIGNAL_BYTES = 64;

type PublishRoute = Extract<Route, { endpoint: "publish" | "signal" }>;

export function handlePublish(ctx: RequestContext, route: PublishRoute): void {
  const { space } = ctx;
  const tt = () => space.nextTimetoken().toString();
  if (space.config.publishKey !== undefined && route.publishKey !== space.config.publishKey) {
    ctx.reply(400, [0, "Invalid Key", tt()]);
    return;
  }
  const text = route.rawMessage === undefined ? ctx.body : pubnubDecode(route.rawMessage);
  if (text === undefined || text === "") {
    ctx.reply(400, [0, "Invalid JSON", tt()]);
    return;
  }
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    ctx.reply(400, [0, "Invalid JSON", tt()]);
    return;
  }
  // PubNub counts the message as sent (escaped, for GET) plus the escaped channel name.
  const size =
    (route.rawMessage === undefined ? Buffer.byteLength(text) : route.rawMessage.length) +
    pubnubEncode(route.channel).length;
  const limit = route.endpoint === "signal" ? MAX_SIGNAL_BYTES : ctx.settings.maxMessageBytes;
  if ((route.endpoint === "signal" ? Buffer.byteLength(text) : size) > limit) {
    ctx.reply(413, [0, "Message Too Large", tt()]);
    return;
  }
  const meta = ctx.jsonParam("meta");
  if (
    meta instanceof Error ||
    (meta !== undefined && (meta === null || typeof meta !== "object" || Array.isArray(meta)))
  ) {
    ctx.reply(400, [0, "Invalid meta: expected a JSON object", tt()]);
    return;
  }
  if (!ctx.authorize([{ kind: "channels", name: route.channel, permission: "write" }])) return;

  const customMessageType = ctx.query.get("custom_message_type");
  const timetoken = space.nextTimetoken();
  const metaObject = meta as Readonly<Record<string, unknown>> | undefined;
  if (route.endpoint === "publish" && ctx.query.get("store") !== "0") {
    const ttl = Number(ctx.query.get("ttl"));
    space.messages.append(
      {
        timetoken,
        channel: route.channel,
        message,
        publisher: ctx.uuid,
        meta: metaObject,
        customMessageType,
      },
      Number.isFinite(ttl) && ttl > 0 ? ttl : undefined,
    );
  }
  const envelope: Envelope = {
    a: "1",
    f: 0,
    i: ctx.uuid,
    p: { t: timetoken.toString(), r: 1 },
    k: space.config.subscribeKey,
    c: route.channel,
    d: message,
    ...(metaObject !== undefined ? { u: metaObject } : {}),
    ...(customMessageType !== undefined ? { cmt: customMessageType } : {}),
    // Messages carry no `e`; `e: 0` would reach the SDK's file listener (§5.4).
    ...(route.endpoint === "signal" ? { e: 1 } : {}),
  };
  space.feed.append(timetoken, envelope);
  ctx.reply(200, [1, "Sent", timetoken.toString()]);
}
