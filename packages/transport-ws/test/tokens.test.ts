import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkGrants,
  grantsAllowChannel,
  grantsAllowGroup,
  mintToken,
  userToken,
  userTokenGrants,
  verifyToken,
} from "../src/server/index.js";
import { SECRET } from "./support.js";

const NOW = 1_733_500_800_000;

describe("tokens", () => {
  it("round-trips: a minted token verifies to its claims", () => {
    const { token, claims } = userToken(SECRET, "alice", { nowMs: NOW, tokenId: "t1" });
    expect(verifyToken(SECRET, token, NOW)).toEqual({ ok: true, value: claims });
    expect(claims).toMatchObject({
      v: 1,
      tid: "t1",
      uid: "alice",
      iat: NOW / 1000,
      exp: NOW / 1000 + 86_400,
    });
  });

  it("has the documented shape: mgs1.<base64url JSON>.<base64url HMAC-SHA-256>", async () => {
    const { token, claims } = userToken(SECRET, "alice", { nowMs: NOW });
    const [prefix, payload, signature] = token.split(".");
    expect(prefix).toBe("mgs1");
    expect(JSON.parse(Buffer.from(payload!, "base64url").toString("utf8"))).toEqual(claims);
    const { createHmac } = await import("node:crypto");
    expect(signature).toBe(createHmac("sha256", SECRET).update(`mgs1.${payload}`).digest("base64url"));
  });

  it("refuses forged, tampered, expired and future tokens with the reason", () => {
    const { token } = userToken(SECRET, "alice", { nowMs: NOW, ttlSeconds: 60 });
    const other = userToken("another-secret-0123456789abcdef0123456789", "alice", { nowMs: NOW }).token;
    expect(verifyToken(SECRET, other, NOW)).toMatchObject({ ok: false, error: { path: "bad_signature" } });
    const [p, payload, s] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as { uid: string };
    claims.uid = "bob";
    const tampered = `${p}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    expect(verifyToken(SECRET, tampered, NOW)).toMatchObject({ ok: false, error: { path: "bad_signature" } });
    expect(verifyToken(SECRET, token, NOW + 60_000)).toMatchObject({ ok: false, error: { path: "expired" } });
    expect(verifyToken(SECRET, token, NOW + 59_999).ok).toBe(true);
    expect(verifyToken(SECRET, token, NOW - 61_000)).toMatchObject({
      ok: false,
      error: { path: "not_yet_valid" },
    });
    expect(verifyToken(SECRET, "mgs1..", NOW)).toMatchObject({ ok: false, error: { path: "bad_signature" } });
    for (const junk of ["", "mgs1", "x.y.z", "mgs2.a.b", 42, null, "a".repeat(9000)])
      expect(verifyToken(SECRET, junk, NOW)).toMatchObject({ ok: false, error: { path: "malformed" } });
  });

  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(verifyToken(SECRET, text, NOW).ok).toBe(false);
        expect(verifyToken(SECRET, `mgs1.${text}`, NOW).ok).toBe(false);
      }),
    );
  });

  it("refuses short secrets and bad arguments (programmer errors throw)", () => {
    expect(() => userToken("short", "alice")).toThrow(RangeError);
    expect(() => userToken(SECRET, "")).toThrow(RangeError);
    expect(() => mintToken(SECRET, { userId: "a", grants: {}, ttlSeconds: 0 })).toThrow(RangeError);
    expect(() => mintToken(SECRET, { userId: "a", grants: { channelPatterns: { "*": ["read"] } } })).toThrow(
      RangeError,
    );
  });

  it("userToken follows spec 11.1's hierarchy", () => {
    const grants = userTokenGrants("alice");
    const allowed: [string, "read" | "write" | "manage", boolean][] = [
      ["user.alice.sync", "read", true],
      ["user.alice.sync", "write", true],
      ["user.alice.devices", "write", true],
      ["user.alice.devices-pnpres", "read", true],
      ["user.alice.notifications", "read", true],
      ["user.alice.notifications", "write", false],
      ["user.bob.sync", "read", false],
      ["global.trending", "read", true],
      ["global.trending", "write", false],
      ["global.announcements", "read", true],
      ["region.uk.updates", "read", true],
      ["region.uk.updates", "write", false],
      ["platform.netflix.catalog", "read", false],
      ["analytics.viewing", "write", false],
      ["global", "read", false],
    ];
    for (const [channel, permission, expected] of allowed)
      expect(grantsAllowChannel(grants, channel, permission), `${permission} ${channel}`).toBe(expected);
    expect(grantsAllowGroup(grants, "user-alice-all", "manage")).toBe(true);
    expect(grantsAllowGroup(grants, "user-bob-all", "read")).toBe(false);
  });

  it("treats prototype names as plain names", () => {
    const checked = checkGrants({ channels: { constructor: ["read"], __proto__: ["write"] } });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(grantsAllowChannel(checked.value, "constructor", "read")).toBe(true);
    expect(grantsAllowChannel({}, "constructor", "read")).toBe(false);
    expect(grantsAllowChannel({}, "toString", "read")).toBe(false);
    expect(grantsAllowGroup({ groups: {} }, "constructor", "read")).toBe(false);
  });

  it("validates grants from untrusted claims", () => {
    expect(checkGrants(null).ok).toBe(false);
    expect(checkGrants({ channels: { a: ["fly"] } })).toMatchObject({
      ok: false,
      error: { path: "channels.a" },
    });
    expect(checkGrants({ channels: { "a b": ["read"] } }).ok).toBe(false);
    expect(checkGrants({ channelPatterns: { "glo*": ["read"] } }).ok).toBe(false);
    expect(checkGrants({ groups: [] }).ok).toBe(false);
  });
});
