/**
 * Message Persistence: fetch (history v3), message counts and delete (research §5.10–5.12).
 * Fetch: `start` exclusive, `end` inclusive, oldest first, the newest `max` when more match;
 * `max` defaults to and is capped at 100 for one channel, 25 for several (the SDK's own caps).
 * Counts: messages newer than the given timetoken, capped at 10 000.
 */
import type { AccessNeed, RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";
import { parseTimetoken } from "../timetoken-clock.js";

function badRequest(ctx: RequestContext, message: string): void {
  ctx.reply(400, { status: 400, error: true, error_message: message, message, service: "Storage" });
}

function readNeeds(channels: readonly string[]): AccessNeed[] {
  return channels.map((name): AccessNeed => ({ kind: "channels", name, permission: "read" }));
}

function optionalTimetoken(ctx: RequestContext, name: string): bigint | undefined | Error {
  const raw = ctx.query.get(name);
  if (raw === undefined || raw === "") return undefined;
  return parseTimetoken(raw) ?? new Error(`${name} is not a timetoken`);
}

export function handleFetchMessages(
  ctx: RequestContext,
  route: Extract<Route, { endpoint: "fetch-messages" }>,
): void {
  const { channels } = route;
  if (channels.length === 0) {
    badRequest(ctx, "at least one channel is required");
    return;
  }
  if (route.withActions && channels.length > 1) {
    badRequest(ctx, "history with actions takes exactly one channel");
    return;
  }
  const cap = channels.length === 1 && !route.withActions ? 100 : 25;
  const maxRaw = ctx.query.get("max");
  const max = maxRaw === undefined ? cap : Math.min(cap, Math.max(1, Math.floor(Number(maxRaw)) || cap));
  const start = optionalTimetoken(ctx, "start");
  const end = optionalTimetoken(ctx, "end");
  if (start instanceof Error) {
    badRequest(ctx, start.message);
    return;
  }
  if (end instanceof Error) {
    badRequest(ctx, end.message);
    return;
  }
  if (!ctx.authorize(readNeeds(channels))) return;
  const includeMeta = ctx.query.get("include_meta") === "true";
  const includeUuid = ctx.query.get("include_uuid") !== "false";
  const includeType = ctx.query.get("include_message_type") !== "false";
  const includeCustomType = ctx.query.get("include_custom_message_type") === "true";
  const out: Record<string, unknown[]> = {};
  for (const channel of channels) {
    const messages = ctx.space.messages.fetch(channel, {
      ...(start !== undefined ? { start } : {}),
      ...(end !== undefined ? { end } : {}),
      max,
    });
    if (messages.length === 0) continue;
    out[channel] = messages.map((m) => ({
      message: m.message,
      timetoken: m.timetoken.toString(),
      ...(includeUuid ? { uuid: m.publisher } : {}),
      ...(includeMeta ? { meta: m.meta ?? "" } : {}),
      ...(includeType ? { message_type: null } : {}),
      ...(includeCustomType && m.customMessageType !== undefined
        ? { custom_message_type: m.customMessageType }
        : {}),
      ...(route.withActions ? { actions: {} } : {}),
    }));
  }
  ctx.reply(200, { status: 200, error: false, error_message: "", channels: out });
}

export function handleMessageCounts(
  ctx: RequestContext,
  route: Extract<Route, { endpoint: "message-counts" }>,
): void {
  const { channels } = route;
  if (channels.length === 0) {
    badRequest(ctx, "at least one channel is required");
    return;
  }
  const single = ctx.query.get("timetoken");
  const perChannel = ctx.query.get("channelsTimetoken");
  if ((single === undefined) === (perChannel === undefined)) {
    badRequest(ctx, "give exactly one of timetoken and channelsTimetoken");
    return;
  }
  const raw = single !== undefined ? channels.map(() => single) : perChannel!.split(",");
  if (raw.length !== channels.length) {
    badRequest(ctx, "channelsTimetoken needs one timetoken per channel");
    return;
  }
  const tts = raw.map((t) => parseTimetoken(t));
  if (tts.some((t) => t === undefined)) {
    badRequest(ctx, "timetoken is not a timetoken");
    return;
  }
  if (!ctx.authorize(readNeeds(channels))) return;
  const counts: Record<string, number> = {};
  channels.forEach((channel, i) => {
    counts[channel] = ctx.space.messages.countAfter(channel, tts[i]!, ctx.settings.maxMessageCount);
  });
  ctx.reply(200, { status: 200, error: false, error_message: "", channels: counts, more: {} });
}

export function handleDeleteMessages(
  ctx: RequestContext,
  route: Extract<Route, { endpoint: "delete-messages" }>,
): void {
  const start = optionalTimetoken(ctx, "start");
  const end = optionalTimetoken(ctx, "end");
  if (start instanceof Error) {
    badRequest(ctx, start.message);
    return;
  }
  if (end instanceof Error) {
    badRequest(ctx, end.message);
    return;
  }
  if (!ctx.authorize([{ kind: "channels", name: route.channel, permission: "delete" }])) return;
  ctx.space.messages.delete(route.channel, start, end);
  ctx.reply(200, { status: 200, error: false, error_message: "" });
}
