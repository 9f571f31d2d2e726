/**
 * Subscribe v2 long-poll (research §5.4). Without `tt` (the handshake) it answers at once with a
 * fresh cursor; with `tt` it answers as soon as something newer exists on the subscribed
 * channels and groups (at most 100 envelopes, cursor = the last one sent), or after
 * `subscribeHoldMs` with the same cursor and nothing. The client aborts polls whenever its
 * subscription changes; an abort is normal, not an error.
 *
 * Presence: the handshake answers BEFORE the client is joined, so the join's timetoken is newer
 * than the cursor and the client sees its own join (§6). While a poll is held the client
 * cannot time out (§5.5).
 */
import type { AccessNeed, RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";
import { parseTimetoken } from "../timetoken-clock.js";
import { joinWithState, stateParam } from "./heartbeat.js";

type SubscribeRoute = Extract<Route, { endpoint: "subscribe" }>;

export function handleSubscribe(ctx: RequestContext, route: SubscribeRoute): void {
  const { space } = ctx;
  const channels = route.channels;
  const groups = ctx.listParam("channel-group");
  if (channels.length === 0 && groups.length === 0) {
    ctx.reply(400, {
      status: 400,
      message: "Invalid Arguments: no channels or channel groups",
      error: true,
      service: "Subscribe",
    });
    return;
  }
  const needs: AccessNeed[] = [
    ...channels.map((name): AccessNeed => ({ kind: "channels", name, permission: "read" })),
    ...groups.map((name): AccessNeed => ({ kind: "groups", name, permission: "read" })),
  ];
  if (!ctx.authorize(needs)) return;

  const uuid = ctx.uuid;
  const heartbeat = Number(ctx.query.get("heartbeat"));
  if (ctx.query.has("heartbeat")) space.presence.announceTimeout(uuid, heartbeat);
  const presenceChannels = space.presenceChannels(channels, groups);
  const states = stateParam(ctx, channels, groups);
  if (states === false) return;

  const rawTt = ctx.query.get("tt");
  if (rawTt === undefined || rawTt === "0") {
    ctx.reply(200, { t: { t: space.nextTimetoken().toString(), r: 1 }, m: [] });
    joinWithState(ctx, presenceChannels, states, 0);
    return;
  }
  const cursor = parseTimetoken(rawTt);
  if (cursor === undefined) {
    ctx.reply(400, { status: 400, message: "Invalid timetoken", error: true, service: "Subscribe" });
    return;
  }

  joinWithState(ctx, presenceChannels, states, 1);
  let finished = false;
  let cancel: () => void = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = () => {
    if (finished) return false;
    finished = true;
    cancel();
    if (timer !== undefined) clearTimeout(timer);
    space.presence.touch(uuid, presenceChannels, -1);
    return true;
  };
  ctx.onAbort(() => {
    finish();
  });
  cancel = space.feed.wait({
    cursor,
    subscription: () => space.subscriptionMap(channels, groups),
    deliver: (envelopes, next) => {
      if (finish()) ctx.reply(200, { t: { t: next.toString(), r: 1 }, m: envelopes });
    },
  });
  if (finished) return;
  timer = setTimeout(() => {
    if (finish()) ctx.reply(200, { t: { t: cursor.toString(), r: 1 }, m: [] });
  }, ctx.settings.subscribeHoldMs);
  timer.unref?.();
}
