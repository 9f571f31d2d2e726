/**
 * Access tokens after spec 11.1 (PubNub Access Manager), signed by the hub's secret with
 * HMAC-SHA-256: `mgs1.<payload>.<signature>`, where `<payload>` is base64url (no padding) of the
 * claims' UTF-8 JSON and `<signature>` is base64url of HMAC-SHA-256(secret, "mgs1." + payload).
 * The format is documented in docs/protocol.md ("WebSocket hub", tokens) so other services can
 * mint tokens without this code.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  channelMatchesPattern,
  invalid,
  ok,
  PRESENCE_SUFFIX,
  type Result,
  userChannelGroup,
  userDevicesChannel,
  userNotificationsChannel,
  userSyncChannel,
  validateChannelPattern,
} from "@mg-sync/crdt-core";

export type Permission = "read" | "write" | "manage";
export const PERMISSIONS: readonly Permission[] = ["read", "write", "manage"];

/** Resources by exact name, and channel patterns (`global.*`, see `channelMatchesPattern`). */
export interface TokenGrants {
  readonly channels?: Readonly<Record<string, readonly Permission[]>>;
  readonly channelPatterns?: Readonly<Record<string, readonly Permission[]>>;
  readonly groups?: Readonly<Record<string, readonly Permission[]>>;
}

export interface TokenClaims {
  /** Format version: 1. */
  readonly v: 1;
  /** Token id, for revocation. */
  readonly tid: string;
  /** The authorized user id (spec 11.1 `authorized_uuid`, without its `user:` prefix). */
  readonly uid: string;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Expires at, seconds since the epoch (exclusive). */
  readonly exp: number;
  readonly grants: TokenGrants;
}

const PREFIX = "mgs1";
/** Longer tokens are refused unread: they are not ours, and parsing them costs. */
export const MAX_TOKEN_LENGTH = 8192;
/** HMAC-SHA-256's block-size key; a shorter secret is brute-forceable sooner. */
export const MIN_SECRET_BYTES = 32;
/** Spec 11.1: `ttl(86400)`. */
export const DEFAULT_TOKEN_TTL_SECONDS = 86_400;

export type TokenFailure = "malformed" | "bad_signature" | "expired" | "not_yet_valid";

export interface TokenError {
  readonly failure: TokenFailure;
  readonly message: string;
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
  if (bytes.byteLength < MIN_SECRET_BYTES)
    throw new RangeError(
      `secret must be at least ${MIN_SECRET_BYTES} bytes (HMAC-SHA-256 key), got ${bytes.byteLength}`,
    );
  return bytes;
}

function sign(key: Uint8Array, signed: string): Buffer {
  return createHmac("sha256", key).update(signed, "utf8").digest();
}

/** A fresh 128-bit random token id. */
export function newTokenId(): string {
  return randomBytes(16).toString("base64url");
}

export interface MintTokenOptions {
  readonly userId: string;
  readonly grants: TokenGrants;
  /** Default 86 400 (24 h, spec 11.1). */
  readonly ttlSeconds?: number;
  /** Default: a fresh random id. */
  readonly tokenId?: string;
  /** Default `Date.now()`. */
  readonly nowMs?: number;
}

/** Signs a token. Bad arguments are a bug of the caller: they throw. */
export function mintToken(
  secret: string | Uint8Array,
  options: MintTokenOptions,
): { readonly token: string; readonly claims: TokenClaims } {
  const key = secretBytes(secret);
  const { userId, grants, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS } = options;
  if (typeof userId !== "string" || !/^[\x21-\x7e]{1,92}$/.test(userId))
    throw new RangeError(`userId must be 1..92 printable ASCII characters, got ${JSON.stringify(userId)}`);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new RangeError(`ttlSeconds must be a positive integer, got ${String(ttlSeconds)}`);
  const checked = checkGrants(grants);
  if (!checked.ok) throw new RangeError(`grants.${checked.error.path}: ${checked.error.reason}`);
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims: TokenClaims = {
    v: 1,
    tid: options.tokenId ?? newTokenId(),
    uid: userId,
    iat,
    exp: iat + ttlSeconds,
    grants: checked.value,
  };
  const payload = Buffer.from(JSON.stringify(claims), "utf8").toString("base64url");
  const signed = `${PREFIX}.${payload}`;
  return { token: `${signed}.${sign(key, signed).toString("base64url")}`, claims };
}

/**
 * Spec 11.1's grant hierarchy for one user's device: read/write on `user.{id}.sync` and
 * `user.{id}.devices`, read on `user.{id}.notifications`, read on `global.*` and `region.*`.
 * Ours on top: read and manage on the user's own channel group `user-{id}-all` (spec 2.2), so
 * a device can build and subscribe to it; a group only ever delivers channels the token may
 * read, so managing it grants nothing more.
 */
export function userTokenGrants(userId: string): TokenGrants {
  return {
    channels: {
      [userSyncChannel(userId)]: ["read", "write"],
      [userDevicesChannel(userId)]: ["read", "write"],
      [userNotificationsChannel(userId)]: ["read"],
    },
    channelPatterns: { "global.*": ["read"], "region.*": ["read"] },
    groups: { [userChannelGroup(userId)]: ["read", "manage"] },
  };
}

/** A device token for `userId` with spec 11.1's grants (`userTokenGrants`), 24 h by default. */
export function userToken(
  secret: string | Uint8Array,
  userId: string,
  options: Omit<MintTokenOptions, "userId" | "grants"> = {},
): { readonly token: string; readonly claims: TokenClaims } {
  return mintToken(secret, { ...options, userId, grants: userTokenGrants(userId) });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkPermissions(value: unknown): Permission[] | string {
  if (!Array.isArray(value)) return "expected an array of permissions";
  const out: Permission[] = [];
  for (const item of value) {
    if (item !== "read" && item !== "write" && item !== "manage")
      return `expected "read", "write" or "manage", got ${JSON.stringify(item)}`;
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

function checkResources(
  value: unknown,
  field: string,
  checkName: (name: string) => string | undefined,
): Result<Record<string, Permission[]> | undefined> {
  if (value === undefined) return ok(undefined);
  if (!isRecord(value)) return invalid(field, "expected an object");
  // No prototype: a resource named `__proto__` or `constructor` is just a name.
  const out = Object.create(null) as Record<string, Permission[]>;
  for (const [name, permissions] of Object.entries(value)) {
    const problem = checkName(name);
    if (problem !== undefined) return invalid(`${field}.${name}`, problem);
    const checked = checkPermissions(permissions);
    if (typeof checked === "string") return invalid(`${field}.${name}`, checked);
    out[name] = checked;
  }
  return ok(out);
}

const plainName = (name: string): string | undefined =>
  /^[\x21-\x7e]{1,92}$/.test(name) ? undefined : "expected 1..92 printable ASCII characters";

/** Validates grants from a token or from configuration. */
export function checkGrants(value: unknown): Result<TokenGrants> {
  if (!isRecord(value)) return invalid("", "expected an object");
  const channels = checkResources(value.channels, "channels", plainName);
  if (!channels.ok) return channels;
  const channelPatterns = checkResources(value.channelPatterns, "channelPatterns", (name) => {
    const checked = validateChannelPattern(name);
    return checked.ok ? undefined : checked.error.reason;
  });
  if (!channelPatterns.ok) return channelPatterns;
  const groups = checkResources(value.groups, "groups", plainName);
  if (!groups.ok) return groups;
  const grants: {
    channels?: Record<string, Permission[]>;
    channelPatterns?: Record<string, Permission[]>;
    groups?: Record<string, Permission[]>;
  } = {};
  if (channels.value !== undefined) grants.channels = channels.value;
  if (channelPatterns.value !== undefined) grants.channelPatterns = channelPatterns.value;
  if (groups.value !== undefined) grants.groups = groups.value;
  return ok(grants);
}

function tokenError(failure: TokenFailure, message: string): Result<never> {
  return invalid(failure, message);
}

/**
 * Checks a token's signature and lifetime. The error's `path` is the `TokenFailure`. Bad
 * tokens are normal network input: this never throws for them (only for a bad `secret`).
 */
export function verifyToken(secret: string | Uint8Array, token: unknown, nowMs: number): Result<TokenClaims> {
  const key = secretBytes(secret);
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH)
    return tokenError("malformed", "not a token string");
  const first = token.indexOf(".");
  const last = token.lastIndexOf(".");
  if (first < 0 || last === first || token.slice(0, first) !== PREFIX)
    return tokenError("malformed", `expected "${PREFIX}.<payload>.<signature>"`);
  const signed = token.slice(0, last);
  const given = Buffer.from(token.slice(last + 1), "base64url");
  const expected = sign(key, signed);
  // Length first: timingSafeEqual throws on unequal lengths.
  if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected))
    return tokenError("bad_signature", "signature does not match");
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(signed.slice(first + 1), "base64url").toString("utf8"));
  } catch {
    return tokenError("malformed", "payload is not JSON");
  }
  if (!isRecord(claims) || claims.v !== 1) return tokenError("malformed", "unknown token version");
  const { tid, uid, iat, exp } = claims;
  if (typeof tid !== "string" || tid.length === 0 || tid.length > 128)
    return tokenError("malformed", "tid must be a string of 1..128 characters");
  if (typeof uid !== "string" || plainName(uid) !== undefined)
    return tokenError("malformed", "uid must be 1..92 printable ASCII characters");
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp))
    return tokenError("malformed", "iat and exp must be integers (seconds)");
  const grants = checkGrants(claims.grants);
  if (!grants.ok) return tokenError("malformed", `grants.${grants.error.path}: ${grants.error.reason}`);
  const nowSec = nowMs / 1000;
  if (nowSec >= (exp as number)) return tokenError("expired", "token expired");
  // A minute of slack for the minting service's clock.
  if ((iat as number) > nowSec + 60) return tokenError("not_yet_valid", "token issued in the future");
  return ok({ v: 1, tid, uid, iat: iat as number, exp: exp as number, grants: grants.value });
}

/**
 * Whether `grants` give `permission` on a channel: by its exact name or by a pattern. A
 * presence channel `<c>-pnpres` is governed by its data channel `<c>` (PubNub's rule: read on
 * a channel covers its presence).
 */
export function grantsAllowChannel(grants: TokenGrants, channel: string, permission: Permission): boolean {
  const name = channel.endsWith(PRESENCE_SUFFIX) ? channel.slice(0, -PRESENCE_SUFFIX.length) : channel;
  const channels = grants.channels;
  if (channels !== undefined && Object.hasOwn(channels, name) && channels[name]!.includes(permission))
    return true;
  const patterns = grants.channelPatterns;
  if (patterns === undefined) return false;
  for (const pattern of Object.keys(patterns)) {
    if (patterns[pattern]!.includes(permission) && channelMatchesPattern(name, pattern)) return true;
  }
  return false;
}

export function grantsAllowGroup(grants: TokenGrants, group: string, permission: Permission): boolean {
  const groups = grants.groups;
  return groups !== undefined && Object.hasOwn(groups, group) && groups[group]!.includes(permission);
}
