/**
 * Spec 11.1's grants as Access Manager v3 grant requests, to hand to a server-side PubNub
 * instance (one with the `secretKey`): `server.grantToken(userTokenGrant(userId, deviceId))`.
 *
 * - Read and write on `user.{id}.sync` and `user.{id}.devices`, read on
 *   `user.{id}.notifications` (written by the notification service only).
 * - Read on `global.*` and `region.*` as patterns. Access Manager patterns are regular
 *   expressions, so they go through `channelPatternToRegExpSource` (`^global\.[^.]+…$`): a bare
 *   `global.*` would also match `globalXtrending`.
 * - Read on `user.{id}.devices-pnpres`: presence events of a channel travel on its `-pnpres`
 *   channel, which Access Manager treats as a channel of its own.
 * - Read and manage on the user's channel group (spec 2.2), so a device can fill it and
 *   subscribe through it.
 * - `authorized_uuid` is the DEVICE id, not spec 11.1's `user:{id}`: a token bound to one uuid
 *   would force every device of the user to share it, and presence could not tell them apart.
 * - TTL 24 hours (spec 11.1 says 86 400 s; PubNub's `ttl` is in minutes).
 */
import {
  channelPatternToRegExpSource,
  userChannelGroup,
  userDevicesChannel,
  userNotificationsChannel,
  userSyncChannel,
} from "@mg-sync/crdt-core";
import type PubNub from "pubnub";

export interface UserTokenGrantOptions {
  /** Default 1440 (24 h, spec 11.1). */
  readonly ttlMinutes?: number;
}

export function userTokenGrant(
  userId: string,
  deviceId: string,
  options: UserTokenGrantOptions = {},
): PubNub.PAM.GrantTokenParameters {
  const readWrite = { read: true, write: true };
  return {
    ttl: options.ttlMinutes ?? 1440,
    authorized_uuid: deviceId,
    resources: {
      channels: {
        [userSyncChannel(userId)]: readWrite,
        [userDevicesChannel(userId)]: readWrite,
        [`${userDevicesChannel(userId)}-pnpres`]: { read: true },
        [userNotificationsChannel(userId)]: { read: true },
      },
      groups: {
        [userChannelGroup(userId)]: { read: true, manage: true },
        [`${userChannelGroup(userId)}-pnpres`]: { read: true },
      },
    },
    patterns: {
      channels: {
        [channelPatternToRegExpSource("global.*")]: { read: true },
        [channelPatternToRegExpSource("region.*")]: { read: true },
      },
    },
  };
}
