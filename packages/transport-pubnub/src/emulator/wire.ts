/**
 * PubNub's wire conventions, shared by every endpoint module (research/pubnub-protocol.md §3):
 * how names are percent-encoded, how lists are split, and what a response looks like.
 */
import type { ServerResponse } from "node:http";

/**
 * `encodeURIComponent` plus the five characters PubNub also escapes (`! ~ * ' ( )`): what the
 * SDK does to path segments and query values, and what the v2 signature is computed over (§4).
 */
export function pubnubEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!~*'()]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Decodes one percent-encoded segment or value; a malformed escape gives `undefined`. */
export function pubnubDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * A comma list from a path segment or query value, split BEFORE decoding: a `,` inside a name
 * arrives as `%2C` (§3). The single segment `,` is the SDK's empty list. `undefined` when a
 * name is not valid percent-encoding.
 */
export function decodeNameList(raw: string): string[] | undefined {
  const out: string[] = [];
  for (const part of raw.split(",")) {
    if (part === "") continue;
    const name = pubnubDecode(part);
    if (name === undefined) return undefined;
    out.push(name);
  }
  return out;
}

/** A raw query string as ordered `[key, value]` pairs, still percent-encoded (for signatures). */
export function rawQueryPairs(search: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const text = search.startsWith("?") ? search.slice(1) : search;
  if (text === "") return pairs;
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    pairs.push(eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}

/** PubNub sends JSON as `text/javascript` (§3); the SDK accepts anything containing `javascript`. */
export const JSON_CONTENT_TYPE = 'text/javascript; charset="UTF-8"';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": JSON_CONTENT_TYPE,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache",
    "Access-Control-Allow-Origin": "*",
    ...headers,
  });
  res.end(text);
}

/** The error body shape PubNub's services use (§3), which the SDK turns into `errorData`. */
export function serviceError(status: number, message: string, service: string): Record<string, unknown> {
  return { status, message, error: true, service };
}
