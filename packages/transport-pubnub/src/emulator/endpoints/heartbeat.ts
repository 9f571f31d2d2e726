/**
 * Heartbeat and leave (research §5.5, §5.6). A heartbeat keeps the client present on the
 * channels (and the groups' channels) for `heartbeat=` seconds more. `state=` is keyed by
 * channel or group, as the SDK sends it with `maintainPresenceState`; the state that arrives
 * with a join travels in the join's `data`, and a value equal to the stored one changes nothing
 * (the SDK re-sends the same state on every heartbeat, which must not make a `state-change` each
 * time).
 */
import { PRESENCE_SUFFIX } from "@mg-sync/crdt-core";
import type { AccessNeed, RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";

type PresenceRoute = Extract<Route, { endpoint: "heartbeat" | "leave" }>;

export function presenceNeeds(channels: readonly string[], groups: readonly string[]): AccessNeed[] {
  return [
    ...channels.map((name): AccessNeed => ({ kind: "channels", name, permission: "read" })),
    ...groups.map((name): AccessNeed => ({ kind: "groups", name, permission: "read" })),
  ];
}

/**
 * `state=` as a map data channel → state, or `undefined` when absent; answers 400 and returns
 * `false` when malformed.
 */
export function stateParam(
  ctx: RequestContext,
  channels: readonly string[],
  groups: readonly string[],
): Map<string, unknown> | undefined | false {
  const state = ctx.jsonParam("state");
  if (state === undefined) return undefined;
  if (state instanceof Error || state === null || typeof state !== "object" || Array.isArray(state)) {
    ctx.reply(400, {
      status: 400,
      message: "Invalid state: expected a JSON object keyed by channel",
      error: true,
      service: "Presence",
    });
    return false;
  }
  const keyed = state as Record<string, unknown>;
  const out = new Map<string, unknown>();
  for (const group of groups)
    if (Object.hasOwn(keyed, group))
      for (const member of ctx.space.groupMembers(group)) out.set(member, keyed[group]);
  for (const channel of channels) if (Object.hasOwn(keyed, channel)) out.set(channel, keyed[channel]);
  return out;
}

/** Marks `uuid` present on `channels` with `states`, in the order that puts state into joins. */
export function joinWithState(
  ctx: RequestContext,
  channels: readonly string[],
  states: ReadonlyMap<string, unknown> | undefined,
  pollDelta: 0 | 1,
): void {
  const { presence } = ctx.space;
  const uuid = ctx.uuid;
  if (states !== undefined)
    for (const channel of channels)
      if (states.has(channel) && !presence.occupants(channel).includes(uuid))
        presence.setState(uuid, channel, states.get(channel), false);
  presence.touch(uuid, channels, pollDelta);
  if (states !== undefined)
    for (const [channel, value] of states)
      if (JSON.stringify(presence.getState(uuid, channel)) !== JSON.stringify(value))
        presence.setState(uuid, channel, value, true);
}

function dataNames(ctx: RequestContext, route: PresenceRoute): { channels: string[]; groups: string[] } {
  return {
    channels: route.channels.filter((c) => !c.endsWith(PRESENCE_SUFFIX)),
    groups: ctx.listParam("channel-group").filter((g) => !g.endsWith(PRESENCE_SUFFIX)),
  };
}

export function handleHeartbeat(ctx: RequestContext, route: PresenceRoute): void {
  const { channels, groups } = dataNames(ctx, route);
  if (channels.length === 0 && groups.length === 0) {
    ctx.reply(400, { status: 400, message: "Invalid Arguments", error: true, service: "Presence" });
    return;
  }
  if (!ctx.authorize(presenceNeeds(channels, groups))) return;
  const states = stateParam(ctx, channels, groups);
  if (states === false) return;
  if (ctx.query.has("heartbeat"))
    ctx.space.presence.announceTimeout(ctx.uuid, Number(ctx.query.get("heartbeat")));
  joinWithState(ctx, ctx.space.presenceChannels(channels, groups), states, 0);
  ctx.reply(200, { status: 200, message: "OK", service: "Presence" });
}

export function handleLeave(ctx: RequestContext, route: PresenceRoute): void {
  const { channels, groups } = dataNames(ctx, route);
  if (channels.length === 0 && groups.length === 0) {
    ctx.reply(400, { status: 400, message: "Invalid Arguments", error: true, service: "Presence" });
    return;
  }
  if (!ctx.authorize(presenceNeeds(channels, groups))) return;
  ctx.space.presence.leave(ctx.uuid, ctx.space.presenceChannels(channels, groups));
  ctx.reply(200, { status: 200, message: "OK", action: "leave", service: "Presence" });
}
