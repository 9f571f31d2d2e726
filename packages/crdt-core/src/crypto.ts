/**
 * End-to-end payload encryption (spec 11.2, DEVIATIONS 10), on WebCrypto only
 * (`globalThis.crypto`), so it runs unchanged in Node 20+ and in browsers.
 *
 * - Key: PBKDF2-HMAC-SHA-256, 100 000 iterations, over the NFC-normalised password, with the
 *   salt `SHA-256(UTF-8("mg-sync/user-key/v1\0" + userId))`: every device of a user derives
 *   the same key without storing or fetching a salt, and users never share a salt.
 *   The key is a non-extractable AES-256-GCM `CryptoKey`.
 * - Sealed bytes: `nonce(12) || ciphertext || tag(16)`, the layout of spec 11.2's Rust
 *   `encrypt_message` (aes-gcm crate), with a fresh random 96-bit nonce per message and the
 *   channel name (UTF-8) as additional authenticated data, so a ciphertext replayed on another
 *   channel fails to authenticate (DEVIATIONS 10).
 * - Text form, for JSON transports: `"mgs1:" + base64url(sealed bytes)` (RFC 4648 §5, no
 *   padding, canonical: non-zero trailing bits are rejected, so each sealed message has one
 *   text form).
 * - Envelope, on JSON transports: an encrypted message is published as the JSON object
 *   `{ "enc": "mgs1:…" }` with exactly one key, whose plaintext is the UTF-8 JSON text of the
 *   whole message (`msg_type` included, so nothing about it leaks). PubNub's own crypto module
 *   must stay off (it is AES-CBC and would double-encrypt; research/pubnub-protocol.md §8).
 * - Which channels are encrypted is configuration (spec 12.3 `encrypt_channels`); default
 *   `user.*.sync` and `user.*.notifications`, where `*` is exactly one dot-separated segment.
 *
 * Bad network input (anything `decrypt*` is given) is rejected with a `DecryptError` whose
 * `reason` the caller counts (DEVIATIONS 10), never a raw `DOMException`; programmer misuse
 * (a wrong key type, an empty channel, a malformed pattern) throws `TypeError`/`RangeError`.
 */
import { isPlainObject } from "./schema.js";

/** Prefix of the text form; the digit is the format version. */
export const ENCRYPTED_TEXT_PREFIX = "mgs1:";
/** Default PBKDF2 iteration count (spec 11.2). */
export const PBKDF2_ITERATIONS = 100_000;
/** AES-GCM nonce length in bytes (96 bits, the length GCM is designed for: NIST SP 800-38D §8.2). */
export const NONCE_BYTES = 12;
/** AES-GCM tag length in bytes (128 bits, WebCrypto's and the aes-gcm crate's default). */
export const TAG_BYTES = 16;
/** Raw AES-256 key length in bytes. */
export const USER_KEY_BYTES = 32;
/** Spec 12.3 `encrypt_channels`. */
export const DEFAULT_ENCRYPTED_CHANNELS: readonly string[] = Object.freeze([
  "user.*.sync",
  "user.*.notifications",
]);

// Fixed domain-separation prefix of the PBKDF2 salt. Changing it changes every user's key:
// it is part of the wire contract (the Rust side must use the same bytes).
const SALT_PREFIX = "mg-sync/user-key/v1\u0000";
const MIN_SEALED_BYTES = NONCE_BYTES + TAG_BYTES;
const TAG_BITS = TAG_BYTES * 8;

const utf8Encoder = new TextEncoder();
// `ignoreBOM`: a plaintext that starts with U+FEFF must round-trip. `fatal`: authenticated bytes
// that are not UTF-8 (a foreign encrypter) are reported, not silently replaced with U+FFFD.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// Only ever decodes base64url characters (ASCII), for which UTF-8 decoding is the identity.
const asciiDecoder = new TextDecoder("utf-8");

export type DecryptErrorReason = "malformed" | "unsupported_version" | "authentication_failed";

/**
 * Why an encrypted payload was rejected. `authentication_failed` covers a wrong key, any
 * tampering, and a ciphertext sealed for another channel: GCM cannot tell them apart.
 */
export class DecryptError extends Error {
  override readonly name = "DecryptError";
  readonly reason: DecryptErrorReason;

  constructor(reason: DecryptErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The JSON envelope of an encrypted message: exactly `{ "enc": "mgs1:…" }`. */
export interface EncryptedEnvelope {
  readonly enc: string;
}

/**
 * True if `value` claims to be an encrypted message: a plain object whose only own key is
 * `enc`, holding a string. The string is not checked here, so an envelope of a newer format is
 * still recognised as one and fails in `decryptPayload` with `unsupported_version` instead of
 * being validated as a plaintext message.
 */
export function isEncryptedEnvelope(value: unknown): value is EncryptedEnvelope {
  if (!isPlainObject(value) || typeof value.enc !== "string") return false;
  for (const key in value) if (key !== "enc") return false;
  return Object.hasOwn(value, "enc");
}

export interface DeriveUserKeyOptions {
  /** PBKDF2 iterations; default `PBKDF2_ITERATIONS`. Lower it only in tests. */
  readonly iterations?: number;
}

/**
 * The user's AES-256-GCM key, from the password and user id (spec 11.2, DEVIATIONS 10).
 * Deterministic: every device of the user that knows the password gets an interoperable key.
 * Slow on purpose (~100k HMACs); derive once per session and keep the `CryptoKey`.
 */
export async function deriveUserKey(
  password: string,
  userId: string,
  options: DeriveUserKeyOptions = {},
): Promise<CryptoKey> {
  const { iterations = PBKDF2_ITERATIONS } = options;
  if (typeof password !== "string" || password.length === 0)
    throw new TypeError("password must be a non-empty string");
  if (typeof userId !== "string" || userId.length === 0)
    throw new TypeError("userId must be a non-empty string");
  if (!Number.isSafeInteger(iterations) || iterations < 1)
    throw new RangeError(`options.iterations must be a positive integer, got ${iterations}`);
  const subtle = globalThis.crypto.subtle;
  const salt = await subtle.digest("SHA-256", utf8Encoder.encode(SALT_PREFIX + userId));
  // NFC: the same password typed on iOS and on a TV keyboard may arrive in different Unicode
  // normalisation forms (RFC 8265 OpaqueString normalises to NFC too).
  const passwordKey = await subtle.importKey(
    "raw",
    encodeWellFormed(password.normalize("NFC"), "password"),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    passwordKey,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** A non-extractable AES-256-GCM key from 32 raw bytes (e.g. from a device keychain). */
export async function importUserKey(raw: Uint8Array): Promise<CryptoKey> {
  if (!(raw instanceof Uint8Array)) throw new TypeError("raw must be a Uint8Array");
  if (raw.length !== USER_KEY_BYTES)
    throw new RangeError(`raw must be ${USER_KEY_BYTES} bytes (AES-256), got ${raw.length}`);
  // A copy, so a view onto a SharedArrayBuffer (which WebCrypto refuses) works too.
  return globalThis.crypto.subtle.importKey("raw", new Uint8Array(raw), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

export interface EncryptOptions {
  /**
   * Fills its argument with the nonce. Default: `crypto.getRandomValues`. For known-answer
   * tests only: two messages under one key with the same nonce reveal the XOR of their
   * plaintexts and let anyone forge messages (NIST SP 800-38D §8).
   */
  readonly fillNonce?: (nonce: Uint8Array<ArrayBuffer>) => void;
}

/** `plaintext` (UTF-8) sealed for `channel`, in the text form `"mgs1:<base64url>"`. */
export async function encryptPayload(
  key: CryptoKey,
  plaintext: string,
  channel: string,
  options: EncryptOptions = {},
): Promise<string> {
  const nonce = makeNonce(options);
  const sealed = await seal(key, nonce, encodeWellFormed(plaintext, "plaintext"), channel);
  // 12 bytes are exactly 16 base64 characters, so base64url(nonce || sealed) is
  // base64url(nonce) + base64url(sealed): no concatenated byte copy is needed.
  const prefix = ENCRYPTED_TEXT_PREFIX.length;
  const nonceChars = base64UrlLength(NONCE_BYTES);
  const out = new Uint8Array(prefix + nonceChars + base64UrlLength(sealed.length));
  for (let i = 0; i < prefix; i++) out[i] = ENCRYPTED_TEXT_PREFIX.charCodeAt(i);
  encodeBase64UrlInto(nonce, out, prefix);
  encodeBase64UrlInto(sealed, out, prefix + nonceChars);
  return asciiDecoder.decode(out);
}

/** The plaintext of a text-form payload sealed for `channel`; rejects with `DecryptError`. */
export async function decryptPayload(key: CryptoKey, data: string, channel: string): Promise<string> {
  checkKey(key, "decrypt");
  checkChannel(channel);
  if (typeof data !== "string") throw new DecryptError("malformed", "encrypted payload is not a string");
  if (!data.startsWith(ENCRYPTED_TEXT_PREFIX)) {
    if (/^mgs\d+:/.test(data))
      throw new DecryptError(
        "unsupported_version",
        `unsupported encrypted payload version "${versionOf(data)}"`,
      );
    throw new DecryptError("malformed", `encrypted payload does not start with "${ENCRYPTED_TEXT_PREFIX}"`);
  }
  const bytes = decodeBase64Url(data, ENCRYPTED_TEXT_PREFIX.length);
  const plaintext = await open(key, bytes, channel);
  try {
    return utf8Decoder.decode(plaintext);
  } catch (error) {
    throw new DecryptError("malformed", "decrypted payload is not UTF-8", { cause: error });
  }
}

/** Binary form: `nonce || ciphertext || tag`, exactly the bytes inside the text form. */
export async function encryptBytes(
  key: CryptoKey,
  plaintext: Uint8Array,
  channel: string,
  options: EncryptOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError("plaintext must be a Uint8Array");
  const nonce = makeNonce(options);
  // WebCrypto only refuses views onto a SharedArrayBuffer (a TypeError, i.e. misuse).
  const sealed = await seal(key, nonce, plaintext as Uint8Array<ArrayBuffer>, channel);
  const out = new Uint8Array(NONCE_BYTES + sealed.length);
  out.set(nonce, 0);
  out.set(sealed, NONCE_BYTES);
  return out;
}

/** The plaintext of binary-form `data` sealed for `channel`; rejects with `DecryptError`. */
export async function decryptBytes(
  key: CryptoKey,
  data: Uint8Array,
  channel: string,
): Promise<Uint8Array<ArrayBuffer>> {
  checkKey(key, "decrypt");
  checkChannel(channel);
  if (!(data instanceof Uint8Array))
    throw new DecryptError("malformed", "encrypted payload is not a Uint8Array");
  return open(key, data as Uint8Array<ArrayBuffer>, channel);
}

/**
 * Length of the text form of a payload whose plaintext is `plaintextBytes` bytes of UTF-8:
 * what a chunker must budget under a transport's size limit (DEVIATIONS 9).
 */
export function encryptedTextLength(plaintextBytes: number): number {
  if (!Number.isSafeInteger(plaintextBytes) || plaintextBytes < 0)
    throw new RangeError(`plaintextBytes must be a non-negative integer, got ${plaintextBytes}`);
  return ENCRYPTED_TEXT_PREFIX.length + base64UrlLength(MIN_SEALED_BYTES + plaintextBytes);
}

// ---------------------------------------------------------------------------------------------
// Channel patterns (spec 12.3 `encrypt_channels`)

/** True if a channel name matches one of the compiled patterns. */
export type ChannelMatcher = (channel: string) => boolean;

/**
 * Compiles `encrypt_channels` patterns once. A pattern is dot-separated, non-empty segments;
 * a segment `*` matches exactly one non-empty segment, any other segment matches itself.
 * `user.*.sync` matches `user.alice.sync`, not `user.a.b.sync` nor `user.alice.devices`.
 * A `*` inside a segment (`user*`) is a configuration error, not a literal star.
 */
export function compileChannelPatterns(patterns: readonly string[]): ChannelMatcher {
  const compiled: (string | null)[][] = patterns.map((pattern, i) => {
    if (typeof pattern !== "string") throw new TypeError(`patterns[${i}] must be a string`);
    return pattern.split(".").map((segment) => {
      if (segment === "") throw new RangeError(`patterns[${i}] ("${pattern}") has an empty segment`);
      if (segment === "*") return null;
      if (segment.includes("*"))
        throw new RangeError(`patterns[${i}] ("${pattern}"): "*" must be a whole segment`);
      return segment;
    });
  });
  return (channel) => {
    for (const segments of compiled) if (matchSegments(segments, channel)) return true;
    return false;
  };
}

const defaultMatcher = compileChannelPatterns(DEFAULT_ENCRYPTED_CHANNELS);

/**
 * True if messages on `channel` are encrypted. Compiles `patterns` on each call unless they are
 * the defaults; on a hot path, keep a `compileChannelPatterns` matcher instead.
 */
export function isEncryptedChannel(
  channel: string,
  patterns: readonly string[] = DEFAULT_ENCRYPTED_CHANNELS,
): boolean {
  const matcher = patterns === DEFAULT_ENCRYPTED_CHANNELS ? defaultMatcher : compileChannelPatterns(patterns);
  return matcher(channel);
}

/** Walks `channel` segment by segment without splitting it (no allocation per message). */
function matchSegments(segments: readonly (string | null)[], channel: string): boolean {
  let start = 0;
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const dot = channel.indexOf(".", start);
    if (i === last ? dot !== -1 : dot === -1) return false;
    const end = i === last ? channel.length : dot;
    if (end === start) return false;
    const segment = segments[i];
    if (segment != null && (end - start !== segment.length || !channel.startsWith(segment, start)))
      return false;
    start = end + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// AES-GCM

function makeNonce(options: EncryptOptions): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(NONCE_BYTES);
  if (options.fillNonce === undefined) globalThis.crypto.getRandomValues(nonce);
  else options.fillNonce(nonce);
  return nonce;
}

/** `ciphertext || tag`. */
async function seal(
  key: CryptoKey,
  nonce: Uint8Array<ArrayBuffer>,
  plaintext: Uint8Array<ArrayBuffer>,
  channel: string,
): Promise<Uint8Array<ArrayBuffer>> {
  checkKey(key, "encrypt");
  checkChannel(channel);
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: utf8Encoder.encode(channel), tagLength: TAG_BITS },
    key,
    plaintext,
  );
  return new Uint8Array(sealed);
}

async function open(
  key: CryptoKey,
  bytes: Uint8Array<ArrayBuffer>,
  channel: string,
): Promise<Uint8Array<ArrayBuffer>> {
  if (bytes.length < MIN_SEALED_BYTES)
    throw new DecryptError(
      "malformed",
      `encrypted payload is ${bytes.length} bytes, shorter than nonce and tag (${MIN_SEALED_BYTES})`,
    );
  try {
    const plaintext = await globalThis.crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: bytes.subarray(0, NONCE_BYTES),
        additionalData: utf8Encoder.encode(channel),
        tagLength: TAG_BITS,
      },
      key,
      bytes.subarray(NONCE_BYTES),
    );
    return new Uint8Array(plaintext);
  } catch (error) {
    // WebCrypto reports a failed tag check, and nothing else here, as "OperationError".
    if (error instanceof Error && error.name === "OperationError")
      throw new DecryptError(
        "authentication_failed",
        "encrypted payload failed authentication (wrong key, tampered, or sealed for another channel)",
        { cause: error },
      );
    throw error;
  }
}

function checkKey(key: CryptoKey, usage: "encrypt" | "decrypt"): void {
  const algorithm = (key as { readonly algorithm?: Partial<AesKeyAlgorithm> } | null)?.algorithm;
  if (algorithm?.name !== "AES-GCM" || algorithm.length !== 256)
    throw new TypeError("key must be an AES-256-GCM CryptoKey (deriveUserKey or importUserKey)");
  if (!key.usages.includes(usage)) throw new TypeError(`key does not allow "${usage}"`);
}

function checkChannel(channel: string): void {
  if (typeof channel !== "string" || channel.length === 0)
    throw new TypeError("channel must be a non-empty string");
}

// A lone surrogate would be encoded as U+FFFD and decrypt to a different string; `JSON.stringify`
// never produces one (it escapes them), so one here is a bug in the caller. No lookbehind:
// Safari before 16.4 cannot even parse it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encodeWellFormed(text: string, name: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== "string") throw new TypeError(`${name} must be a string`);
  if (LONE_SURROGATE.test(text)) throw new TypeError(`${name} contains a lone UTF-16 surrogate`);
  return utf8Encoder.encode(text);
}

function versionOf(data: string): string {
  return data.slice(0, data.indexOf(":"));
}

// ---------------------------------------------------------------------------------------------
// base64url (RFC 4648 §5), unpadded and canonical; no `Buffer`, no `btoa`.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

function base64UrlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/** Writes the base64url characters (as ASCII codes) of `bytes` into `out` from `offset`. */
function encodeBase64UrlInto(bytes: Uint8Array, out: Uint8Array, offset: number): void {
  const n = bytes.length;
  const whole = n - (n % 3);
  let o = offset;
  let i = 0;
  for (; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = ENCODE[v & 63]!;
  }
  if (n - whole === 1) {
    const v = bytes[i]!;
    out[o++] = ENCODE[v >>> 2]!;
    out[o++] = ENCODE[(v & 3) << 4]!;
  } else if (n - whole === 2) {
    const v = (bytes[i]! << 8) | bytes[i + 1]!;
    out[o++] = ENCODE[v >>> 10]!;
    out[o++] = ENCODE[(v >>> 4) & 63]!;
    out[o++] = ENCODE[(v & 15) << 2]!;
  }
}

/** Decodes `text` from `start`; `DecryptError("malformed")` on any non-canonical input. */
function decodeBase64Url(text: string, start: number): Uint8Array<ArrayBuffer> {
  const chars = text.length - start;
  const tail = chars % 4;
  if (tail === 1) throw new DecryptError("malformed", "encrypted payload has an impossible base64url length");
  const out = new Uint8Array(((chars - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1));
  const whole = text.length - tail;
  let o = 0;
  let i = start;
  for (; i < whole; i += 4) {
    const v =
      (sextet(text, i) << 18) |
      (sextet(text, i + 1) << 12) |
      (sextet(text, i + 2) << 6) |
      sextet(text, i + 3);
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  if (tail === 2) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    if ((b & 15) !== 0) throw nonCanonical();
    out[o] = (a << 2) | (b >>> 4);
  } else if (tail === 3) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    if ((c & 3) !== 0) throw nonCanonical();
    out[o++] = (a << 2) | (b >>> 4);
    out[o] = ((b & 15) << 4) | (c >>> 2);
  }
  return out;
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  const value = code < 128 ? DECODE[code]! : -1;
  if (value < 0)
    throw new DecryptError("malformed", `encrypted payload has a non-base64url character at ${index}`);
  return value;
}

function nonCanonical(): DecryptError {
  return new DecryptError("malformed", "encrypted payload is not canonical base64url");
}
