/**
 * Channel groups (research §5.13), all GET: add (`?add=`), remove (`?remove=`), list a group's
 * channels, list groups, delete a group (`…/remove`). Changing or listing a group takes
 * `manage` on it; listing every group takes the secret key.
 */
import type { RequestContext } from "../request-context.js";
import type { Route } from "../routes.js";

/** PubNub's limit on channels per group (docs: 2000 on paid keysets). */
export const MAX_CHANNELS_PER_GROUP = 2000;

function ok(ctx: RequestContext, payload?: unknown): void {
  ctx.reply(200, {
    status: 200,
    message: "OK",
    service: "channel-registry",
    error: false,
    ...(payload !== undefined ? { payload } : {}),
  });
}

export function handleChannelGroups(
  ctx: RequestContext,
  route: Extract<Route, { endpoint: "channel-groups" }>,
): void {
  const { space } = ctx;
  const { group } = route;
  if (group === undefined) {
    if (!ctx.authorize([], { requireSignature: space.config.accessManager })) return;
    ok(ctx, { groups: [...space.groups.keys()], namespace: "" });
    return;
  }
  if (!ctx.authorize([{ kind: "groups", name: group, permission: "manage" }])) return;
  if (route.deleteGroup) {
    space.groups.delete(group);
    ok(ctx);
    return;
  }
  const add = ctx.listParam("add");
  const remove = ctx.listParam("remove");
  if (add.length === 0 && remove.length === 0) {
    ok(ctx, { group, channels: space.groupMembers(group) });
    return;
  }
  let members = space.groups.get(group);
  if (add.length > 0) {
    if (members === undefined) members = new Set();
    const next = new Set([...members, ...add]);
    if (next.size > MAX_CHANNELS_PER_GROUP) {
      ctx.reply(400, {
        status: 400,
        message: `A channel group holds at most ${MAX_CHANNELS_PER_GROUP} channels`,
        error: true,
        service: "channel-registry",
      });
      return;
    }
    space.groups.set(group, next);
    members = next;
  }
  if (remove.length > 0 && members !== undefined) {
    for (const channel of remove) members.delete(channel);
    if (members.size === 0) space.groups.delete(group);
  }
  ok(ctx);
}
