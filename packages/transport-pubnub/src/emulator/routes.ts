/**
 * Which endpoint a request is (research §5). Path segments are matched while still
 * percent-encoded and decoded one by one, so a `/` or `,` inside a channel name survives (§3).
 */
import { decodeNameList, pubnubDecode } from "./wire.js";

export type EmulatorEndpoint =
  | "time"
  | "publish"
  | "signal"
  | "subscribe"
  | "heartbeat"
  | "leave"
  | "here-now"
  | "where-now"
  | "get-state"
  | "set-state"
  | "fetch-messages"
  | "delete-messages"
  | "message-counts"
  | "channel-groups"
  | "grant"
  | "revoke";

interface ChannelsRoute<E extends EmulatorEndpoint> {
  readonly endpoint: E;
  readonly subscribeKey: string;
  readonly channels: readonly string[];
}

export type Route =
  | { readonly endpoint: "time" }
  | {
      readonly endpoint: "publish" | "signal";
      readonly subscribeKey: string;
      readonly publishKey: string;
      readonly channel: string;
      /** The still-encoded JSON segment of a GET; `undefined` for a POST (body). */
      readonly rawMessage: string | undefined;
    }
  | ChannelsRoute<"subscribe">
  | ChannelsRoute<"heartbeat">
  | ChannelsRoute<"leave">
  | ChannelsRoute<"message-counts">
  | {
      readonly endpoint: "fetch-messages";
      readonly subscribeKey: string;
      readonly channels: readonly string[];
      readonly withActions: boolean;
    }
  | {
      readonly endpoint: "here-now";
      readonly subscribeKey: string;
      readonly channels: readonly string[] | undefined;
    }
  | { readonly endpoint: "where-now"; readonly subscribeKey: string; readonly uuid: string }
  | {
      readonly endpoint: "get-state" | "set-state";
      readonly subscribeKey: string;
      readonly channels: readonly string[];
      readonly uuid: string;
    }
  | { readonly endpoint: "delete-messages"; readonly subscribeKey: string; readonly channel: string }
  | {
      readonly endpoint: "channel-groups";
      readonly subscribeKey: string;
      readonly group: string | undefined;
      readonly deleteGroup: boolean;
    }
  | { readonly endpoint: "grant"; readonly subscribeKey: string }
  | { readonly endpoint: "revoke"; readonly subscribeKey: string; readonly token: string };

/** The route, or `undefined` for a path PubNub would answer 404 (or a malformed escape). */
export function matchRoute(method: string, s: readonly string[]): Route | undefined {
  const d = (i: number): string | undefined => {
    const raw = s[i];
    return raw === undefined ? undefined : pubnubDecode(raw);
  };
  const list = (i: number): string[] | undefined => {
    const raw = s[i];
    return raw === undefined ? undefined : decodeNameList(raw);
  };
  const n = s.length;
  const head = s[0];

  if (head === "time" && n === 2 && method === "GET") return { endpoint: "time" };

  if ((head === "publish" || head === "signal") && s[3] === "0" && s[5] === "0") {
    const publishKey = d(1);
    const subscribeKey = d(2);
    const channel = d(4);
    if (publishKey === undefined || subscribeKey === undefined || channel === undefined) return undefined;
    if (n === 7 && method === "GET")
      return { endpoint: head, subscribeKey, publishKey, channel, rawMessage: s[6]! };
    if (n === 6 && method === "POST" && head === "publish")
      return { endpoint: "publish", subscribeKey, publishKey, channel, rawMessage: undefined };
    return undefined;
  }

  if (head === "v2" && s[1] === "subscribe" && n === 5 && s[4] === "0" && method === "GET") {
    const subscribeKey = d(2);
    const channels = list(3);
    if (subscribeKey === undefined || channels === undefined) return undefined;
    return { endpoint: "subscribe", subscribeKey, channels };
  }

  if (head === "v2" && s[1] === "presence" && s[2] === "sub-key" && method === "GET") {
    const subscribeKey = d(3);
    if (subscribeKey === undefined) return undefined;
    if (n === 4) return { endpoint: "here-now", subscribeKey, channels: undefined };
    if (s[4] === "uuid" && n === 6) {
      const uuid = d(5);
      return uuid === undefined ? undefined : { endpoint: "where-now", subscribeKey, uuid };
    }
    if (s[4] !== "channel") return undefined;
    const channels = list(5);
    if (channels === undefined) return undefined;
    if (n === 6) return { endpoint: "here-now", subscribeKey, channels };
    if (n === 7 && s[6] === "heartbeat") return { endpoint: "heartbeat", subscribeKey, channels };
    if (n === 7 && s[6] === "leave") return { endpoint: "leave", subscribeKey, channels };
    if (s[6] === "uuid" && (n === 8 || (n === 9 && s[8] === "data"))) {
      const uuid = d(7);
      if (uuid === undefined) return undefined;
      return { endpoint: n === 9 ? "set-state" : "get-state", subscribeKey, channels, uuid };
    }
    return undefined;
  }

  if (
    head === "v3" &&
    (s[1] === "history" || s[1] === "history-with-actions") &&
    s[2] === "sub-key" &&
    n === 6
  ) {
    const subscribeKey = d(3);
    const channels = list(5);
    if (subscribeKey === undefined || channels === undefined) return undefined;
    if (s[4] === "message-counts" && s[1] === "history" && method === "GET")
      return { endpoint: "message-counts", subscribeKey, channels };
    if (s[4] !== "channel") return undefined;
    if (method === "GET")
      return {
        endpoint: "fetch-messages",
        subscribeKey,
        channels,
        withActions: s[1] === "history-with-actions",
      };
    if (method === "DELETE" && s[1] === "history" && channels.length === 1)
      return { endpoint: "delete-messages", subscribeKey, channel: channels[0]! };
    return undefined;
  }

  if (head === "v1" && s[1] === "channel-registration" && s[2] === "sub-key" && s[4] === "channel-group") {
    const subscribeKey = d(3);
    if (subscribeKey === undefined || method !== "GET") return undefined;
    if (n === 5) return { endpoint: "channel-groups", subscribeKey, group: undefined, deleteGroup: false };
    const group = d(5);
    if (group === undefined || group === "") return undefined;
    if (n === 6) return { endpoint: "channel-groups", subscribeKey, group, deleteGroup: false };
    if (n === 7 && s[6] === "remove")
      return { endpoint: "channel-groups", subscribeKey, group, deleteGroup: true };
    return undefined;
  }

  if (head === "v3" && s[1] === "pam" && s[3] === "grant") {
    const subscribeKey = d(2);
    if (subscribeKey === undefined) return undefined;
    if (n === 4 && method === "POST") return { endpoint: "grant", subscribeKey };
    if (n === 5 && method === "DELETE") {
      const token = d(4);
      return token === undefined ? undefined : { endpoint: "revoke", subscribeKey, token };
    }
  }
  return undefined;
}

/** The channels a route names (for fault matching and the request log). */
export function routeChannels(route: Route): readonly string[] {
  if ("channels" in route) return route.channels ?? [];
  if ("channel" in route) return [route.channel];
  return [];
}
