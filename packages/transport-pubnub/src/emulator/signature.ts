/**
 * PubNub's v2 request signature (research §4, verified against the SDK end to end):
 * `"v2." + base64url(HMAC-SHA256(secretKey, METHOD\nPUBKEY\nPATH\nSORTED_QUERY\n[BODY]))`.
 * Publish is always signed as `GET` and without its body; other POST and PATCH bodies are part
 * of the input. The path is signed exactly as sent (still percent-encoded); query values are
 * re-encoded PubNub's way, keys sorted, `signature` left out.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { pubnubDecode, pubnubEncode } from "./wire.js";

export interface SignatureInput {
  readonly method: string;
  readonly publishKey: string;
  readonly rawPath: string;
  /** Query pairs as received (percent-encoded). */
  readonly rawQuery: ReadonlyArray<readonly [string, string]>;
  /** The uncompressed body text, for POST and PATCH. */
  readonly body: string | undefined;
}

export function signatureBaseString(input: SignatureInput): string {
  const isPublish = input.rawPath.startsWith("/publish/");
  const method = isPublish ? "GET" : input.method.toUpperCase();
  const pairs: Array<[string, string]> = [];
  for (const [rawKey, rawValue] of input.rawQuery) {
    const key = pubnubDecode(rawKey) ?? rawKey;
    if (key === "signature") continue;
    pairs.push([key, pubnubEncode(pubnubDecode(rawValue.replace(/\+/g, "%20")) ?? rawValue)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const query = pairs.map(([k, v]) => `${k}=${v}`).join("&");
  let base = `${method}\n${input.publishKey}\n${input.rawPath}\n${query}\n`;
  if (!isPublish && (method === "POST" || method === "PATCH") && input.body !== undefined) base += input.body;
  return base;
}

export function computeSignature(secretKey: string, input: SignatureInput): string {
  const digest = createHmac("sha256", secretKey).update(signatureBaseString(input)).digest("base64");
  return `v2.${digest.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

export type SignatureVerdict = "valid" | "missing" | "invalid" | "stale";

/**
 * Checks a request's `signature` and `timestamp`. PubNub refuses stale timestamps (docs); the
 * window is the emulator's `signatureWindowSeconds`.
 */
export function verifySignature(
  secretKey: string,
  input: SignatureInput,
  signature: string | undefined,
  timestamp: string | undefined,
  nowSeconds: number,
  windowSeconds: number,
): SignatureVerdict {
  if (signature === undefined) return "missing";
  const ts = timestamp === undefined ? Number.NaN : Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > windowSeconds) return "stale";
  const expected = Buffer.from(computeSignature(secretKey, input));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? "valid" : "invalid";
}
