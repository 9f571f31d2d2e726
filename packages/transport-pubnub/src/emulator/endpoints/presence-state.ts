/**
 * Presence state get and set (research §5.9). Set stores a JSON object for the uuid on each
 * channel (and each group's channels) and emits `state-change` where it is present. Get answers
 * the bare state for one channel, else a map channel → state (the form the SDK reads).
 */
import type { RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";
import { presenceNeeds } from "./heartbeat.js";

type StateRoute = Extract<Route, { endpoint: "get-state" | "set-state" }>;

export function handleSetState(ctx: RequestContext, route: StateRoute): void {
  const groups = ctx.listParam("channel-group");
  if (route.channels.length === 0 && groups.length === 0) {
    ctx.reply(400, { status: 400, message: "Invalid Arguments", error: true, service: "Presence" });
    return;
  }
  const state = ctx.jsonParam("state");
  if (
    state === undefined ||
    state instanceof Error ||
    state === null ||
    typeof state !== "object" ||
    Array.isArray(state)
  ) {
    ctx.reply(400, {
      status: 400,
      message: "Invalid state: expected a JSON object",
      error: true,
      service: "Presence",
    });
    return;
  }
  if (!ctx.authorize(presenceNeeds(route.channels, groups))) return;
  for (const channel of ctx.space.presenceChannels(route.channels, groups))
    ctx.space.presence.setState(route.uuid, channel, state);
  ctx.reply(200, { status: 200, message: "OK", payload: state, service: "Presence" });
}

export function handleGetState(ctx: RequestContext, route: StateRoute): void {
  const groups = ctx.listParam("channel-group");
  if (!ctx.authorize(presenceNeeds(route.channels, groups))) return;
  const { presence } = ctx.space;
  if (route.channels.length === 1 && groups.length === 0) {
    ctx.reply(200, {
      status: 200,
      message: "OK",
      uuid: route.uuid,
      payload: presence.getState(route.uuid, route.channels[0]!) ?? {},
      service: "Presence",
    });
    return;
  }
  const payload: Record<string, unknown> = {};
  for (const channel of ctx.space.presenceChannels(route.channels, groups)) {
    const state = presence.getState(route.uuid, channel);
    if (state !== undefined) payload[channel] = state;
  }
  ctx.reply(200, { status: 200, message: "OK", uuid: route.uuid, payload, service: "Presence" });
}
