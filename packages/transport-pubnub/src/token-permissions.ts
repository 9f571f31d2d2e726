/**
 * What an Access Manager v3 token lets this client read, judged on the client from the token
 * itself (the SDK's public `parseToken`), so a subscribe the server would refuse fails alone
 * and at once, instead of breaking the long-poll that carries every other channel (one 403
 * fails the whole request). The server stays the authority: this only refuses early.
 * Same rule as the emulator: an exact resource decides alone, otherwise any matching pattern
 * (a regular expression) grants.
 */
import type PubNub from "pubnub";

type Kind = "channels" | "groups";

function canRead(token: PubNub.PAM.Token, kind: Kind, name: string): boolean {
  const exact = token.resources?.[kind];
  if (exact !== undefined && Object.hasOwn(exact, name)) return exact[name]?.read === true;
  for (const [source, permissions] of Object.entries(token.patterns?.[kind] ?? {})) {
    if (permissions?.read !== true) continue;
    try {
      if (new RegExp(source).test(name)) return true;
    } catch {
      // A pattern that is not a valid regular expression grants nothing.
    }
  }
  return false;
}

/** The names `token` does not let this client read; empty when it cannot tell (no token). */
export function unreadable(
  token: PubNub.PAM.Token | undefined,
  channels: readonly string[],
  groups: readonly string[],
): string[] {
  if (token === undefined) return [];
  return [
    ...channels.filter((c) => !canRead(token, "channels", c)),
    ...groups.filter((g) => !canRead(token, "groups", g)),
  ];
}
