/**
 * Here now (research §5.7): one channel and no groups gives the flat form
 * (`occupancy`, `uuids`); several channels, groups (expanded to their channels) or the global
 * form (no channel segment) give the `payload` form, which lists occupied channels only.
 * `disable_uuids=1` leaves the lists out, `state=1` puts each occupant's state in.
 */
import type { RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";
import { presenceNeeds } from "./heartbeat.js";

type HereNowRoute = Extract<Route, { endpoint: "here-now" }>;

export function handleHereNow(ctx: RequestContext, route: HereNowRoute): void {
  const { space } = ctx;
  const groups = ctx.listParam("channel-group");
  const channels = route.channels ?? [];
  if (!ctx.authorize(presenceNeeds(channels, groups))) return;
  const withUuids = ctx.query.get("disable_uuids") !== "1";
  const withState = ctx.query.get("state") === "1";
  const limit = Math.max(0, Number(ctx.query.get("limit") ?? 1000) || 0);
  const offset = Math.max(0, Number(ctx.query.get("offset") ?? 0) || 0);
  const occupantsOf = (channel: string) => {
    const uuids = space.presence.occupants(channel);
    const page = route.channels === undefined ? uuids : uuids.slice(offset, offset + limit);
    return page.map((uuid) => {
      if (!withState) return uuid;
      const state = space.presence.getState(uuid, channel);
      return state === undefined ? { uuid } : { uuid, state };
    });
  };

  if (route.channels !== undefined && channels.length === 1 && groups.length === 0) {
    const channel = channels[0]!;
    ctx.reply(200, {
      status: 200,
      message: "OK",
      occupancy: space.presence.occupants(channel).length,
      ...(withUuids ? { uuids: occupantsOf(channel) } : {}),
      service: "Presence",
    });
    return;
  }

  const names =
    route.channels === undefined && groups.length === 0
      ? space.presence.occupiedChannels()
      : [...new Set([...channels, ...groups.flatMap((g) => space.groupMembers(g))])];
  const out: Record<string, { occupancy: number; uuids?: unknown[] }> = {};
  let total = 0;
  for (const channel of names) {
    const occupancy = space.presence.occupants(channel).length;
    if (occupancy === 0) continue;
    total += occupancy;
    out[channel] = { occupancy, ...(withUuids ? { uuids: occupantsOf(channel) } : {}) };
  }
  ctx.reply(200, {
    status: 200,
    message: "OK",
    service: "Presence",
    payload: { total_channels: Object.keys(out).length, total_occupancy: total, channels: out },
  });
}

export function handleWhereNow(ctx: RequestContext, route: Extract<Route, { endpoint: "where-now" }>): void {
  if (!ctx.authorize([])) return;
  ctx.reply(200, {
    status: 200,
    message: "OK",
    payload: { channels: ctx.space.presence.whereNow(route.uuid) },
    service: "Presence",
  });
}
