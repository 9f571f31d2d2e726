/**
 * Access Manager v3 tokens (research §5.14): minting from a grant request, reading them back,
 * and answering "may this token do X to resource Y". A token is base64url (no padding) of a
 * CBOR map `{v, t, ttl, res, pat, meta, uuid?, sig}`; `sig` is HMAC-SHA256 under the keyset's
 * secret key over the CBOR of the same map without `sig`, so a token cannot be edited.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { type CborValue, cborDecode, cborEncode } from "./cbor.js";

/** Permission bits as the grant body and the token carry them (research §5.14). */
export const PERMISSION = Object.freeze({
  read: 1,
  write: 2,
  manage: 4,
  delete: 8,
  get: 32,
  update: 64,
  join: 128,
});

export type PermissionName = keyof typeof PERMISSION;

/** A resource map: name (or, under `patterns`, regular expression) → permission bits. */
export type PermissionMap = Readonly<Record<string, number>>;

export interface TokenResources {
  readonly channels?: PermissionMap;
  readonly groups?: PermissionMap;
  readonly uuids?: PermissionMap;
}

/** What a grant asks for: PubNub's grant body (`ttl` in minutes) in camel case. */
export interface GrantRequest {
  readonly ttlMinutes: number;
  readonly authorizedUuid?: string;
  readonly resources?: TokenResources;
  readonly patterns?: TokenResources;
  readonly meta?: Readonly<Record<string, string | number | boolean | null>>;
}

/** A token that verified: signature good, structure sound. */
export interface AccessToken {
  readonly issuedAtSeconds: number;
  readonly ttlMinutes: number;
  readonly authorizedUuid: string | undefined;
  readonly resources: Required<TokenResources>;
  readonly patterns: Required<TokenResources>;
  readonly meta: Readonly<Record<string, CborValue>>;
}

/** PubNub caps a token's life at 30 days (43 200 minutes; grant docs). */
export const MAX_TOKEN_TTL_MINUTES = 43_200;

const EMPTY: PermissionMap = Object.freeze({});

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) && !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

function sign(secretKey: string, body: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", secretKey).update(body).digest());
}

function resourceBlock(r: TokenResources | undefined): Record<string, CborValue> {
  // PubNub's token keeps `usr` and `spc` (the retired Objects v2 names) beside the others.
  return {
    chan: { ...(r?.channels ?? {}) },
    grp: { ...(r?.groups ?? {}) },
    uuid: { ...(r?.uuids ?? {}) },
    usr: {},
    spc: {},
  };
}

export function mintToken(secretKey: string, request: GrantRequest, nowSeconds: number): string {
  const body: Record<string, CborValue> = {
    v: 2,
    t: Math.floor(nowSeconds),
    ttl: request.ttlMinutes,
    res: resourceBlock(request.resources),
    pat: resourceBlock(request.patterns),
    meta: { ...(request.meta ?? {}) },
  };
  if (request.authorizedUuid !== undefined) body.uuid = request.authorizedUuid;
  const sig = sign(secretKey, cborEncode(body));
  return base64url(cborEncode({ ...body, sig }));
}

function permissionMap(value: CborValue | undefined): PermissionMap | undefined {
  if (value === undefined) return EMPTY;
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array)
    return undefined;
  for (const bits of Object.values(value))
    if (typeof bits !== "number" || !Number.isInteger(bits)) return undefined;
  return value as PermissionMap;
}

function resources(value: CborValue | undefined): Required<TokenResources> | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array)
    return undefined;
  const block = value as Record<string, CborValue>;
  const channels = permissionMap(block.chan);
  const groups = permissionMap(block.grp);
  const uuids = permissionMap(block.uuid);
  if (channels === undefined || groups === undefined || uuids === undefined) return undefined;
  return { channels, groups, uuids };
}

/** Reads and verifies a token; `undefined` if it is not one this secret key signed. */
export function verifyToken(secretKey: string, token: string): AccessToken | undefined {
  const bytes = fromBase64url(token);
  if (bytes === undefined || bytes.length === 0) return undefined;
  const decoded = cborDecode(bytes);
  if (decoded === undefined || decoded === null || typeof decoded !== "object" || Array.isArray(decoded))
    return undefined;
  if (decoded instanceof Uint8Array) return undefined;
  const { sig, ...body } = decoded as Record<string, CborValue>;
  if (!(sig instanceof Uint8Array)) return undefined;
  const expected = sign(secretKey, cborEncode(body));
  if (expected.length !== sig.length || !timingSafeEqual(expected, sig)) return undefined;
  const res = resources(body.res);
  const pat = resources(body.pat);
  if (body.v !== 2 || typeof body.t !== "number" || typeof body.ttl !== "number" || !res || !pat)
    return undefined;
  const meta = body.meta;
  return {
    issuedAtSeconds: body.t,
    ttlMinutes: body.ttl,
    authorizedUuid: typeof body.uuid === "string" ? body.uuid : undefined,
    resources: res,
    patterns: pat,
    meta:
      meta !== null && typeof meta === "object" && !Array.isArray(meta) && !(meta instanceof Uint8Array)
        ? (meta as Record<string, CborValue>)
        : {},
  };
}

export function tokenExpired(token: AccessToken, nowSeconds: number): boolean {
  return nowSeconds >= token.issuedAtSeconds + token.ttlMinutes * 60;
}

/**
 * The permission bits a token gives on one resource. An exact resource entry decides alone;
 * otherwise every pattern that matches adds its bits. Patterns are regular expressions, as in
 * PubNub's Access Manager (anchor them, `^…$`, to match whole names; `channelPatternToRegExpSource`
 * in crdt-core makes such a source from spec 11.1's `global.*`). A pattern that is not a valid
 * regular expression grants nothing.
 */
export function permissionBits(exact: PermissionMap, patterns: PermissionMap, name: string): number {
  if (Object.hasOwn(exact, name)) return exact[name]!;
  let bits = 0;
  for (const [source, patternBits] of Object.entries(patterns)) {
    let re: RegExp;
    try {
      re = new RegExp(source);
    } catch {
      continue;
    }
    if (re.test(name)) bits |= patternBits;
  }
  return bits;
}

/**
 * Reads a grant request body as the SDK sends it (research §5.14); a string names what is wrong.
 * PubNub refuses an empty grant and a ttl outside 1..43 200 minutes.
 */
export function parseGrantBody(body: unknown): GrantRequest | string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "body must be a JSON object";
  const { ttl, permissions } = body as { ttl?: unknown; permissions?: unknown };
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_MINUTES)
    return `ttl must be an integer number of minutes in 1..${MAX_TOKEN_TTL_MINUTES}`;
  if (permissions === null || typeof permissions !== "object" || Array.isArray(permissions))
    return "permissions must be an object";
  const p = permissions as Record<string, unknown>;
  const block = (value: unknown, where: string): TokenResources | string => {
    if (value === undefined) return {};
    if (value === null || typeof value !== "object" || Array.isArray(value))
      return `${where} must be an object`;
    const v = value as Record<string, unknown>;
    const map = (m: unknown, name: string): PermissionMap | string => {
      if (m === undefined) return EMPTY;
      if (m === null || typeof m !== "object" || Array.isArray(m))
        return `${where}.${name} must be an object`;
      for (const [key, bits] of Object.entries(m))
        if (typeof bits !== "number" || !Number.isInteger(bits) || bits < 0 || bits > 255)
          return `${where}.${name}[${JSON.stringify(key)}] must be permission bits`;
      return m as PermissionMap;
    };
    const channels = map(v.channels, "channels");
    const groups = map(v.groups, "groups");
    const uuids = map(v.uuids, "uuids");
    if (typeof channels === "string") return channels;
    if (typeof groups === "string") return groups;
    if (typeof uuids === "string") return uuids;
    return { channels, groups, uuids };
  };
  const res = block(p.resources, "resources");
  const pat = block(p.patterns, "patterns");
  if (typeof res === "string") return res;
  if (typeof pat === "string") return pat;
  const count = (r: TokenResources) =>
    Object.keys(r.channels ?? {}).length +
    Object.keys(r.groups ?? {}).length +
    Object.keys(r.uuids ?? {}).length;
  if (count(res) + count(pat) === 0) return "a grant must name at least one resource or pattern";
  const meta = p.meta;
  if (meta !== undefined && (meta === null || typeof meta !== "object" || Array.isArray(meta)))
    return "meta must be an object";
  if (p.uuid !== undefined && typeof p.uuid !== "string") return "uuid must be a string";
  return {
    ttlMinutes: ttl,
    ...(typeof p.uuid === "string" ? { authorizedUuid: p.uuid } : {}),
    resources: res,
    patterns: pat,
    ...(meta !== undefined ? { meta: meta as GrantRequest["meta"] & object } : {}),
  };
}
