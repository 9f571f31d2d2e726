import { afterEach, describe, expect, it } from "vitest";
import { CLOSE_TOKEN_REVOKED, CLOSE_UNAUTHORIZED, WsTransport } from "../src/index.js";
import { mintToken, userToken, WsHub } from "../src/server/index.js";
import { closeAll, RawClient, raw, SECRET, startHub, transport, waitFor } from "./support.js";

afterEach(closeAll);

const ALICE = userToken(SECRET, "alice").token;

async function refusedHello(
  url: string,
  token: string | undefined,
): Promise<{ reply: Record<string, unknown>; code: number }> {
  const client = new RawClient(url);
  const reply = await client.hello("dev", token);
  const { code } = await client.closed;
  return { reply, code };
}

describe("access control", () => {
  it("refuses to start without a secret unless insecure, and insecure is logged loudly", async () => {
    expect(() => new WsHub({})).toThrow(/secret is required/);
    expect(() => new WsHub({ secret: "too short" })).toThrow(RangeError);
    const { logs } = await startHub({ insecure: true });
    expect(logs.some((entry) => entry.level === "warn" && entry.event === "insecure")).toBe(true);
  });

  it("answers forged, expired, missing and revoked tokens with an error and a close code, and keeps serving others", async () => {
    const { url, hub, logs } = await startHub();
    const good = await raw(url, "good", ALICE);
    const forged = userToken("a-different-secret-0123456789abcdef0123", "alice").token;
    const expired = userToken(SECRET, "alice", { nowMs: Date.now() - 90_000_000 }).token;
    const revoked = userToken(SECRET, "alice", { tokenId: "revoked-1" }).token;
    hub.revokeToken("revoked-1");
    for (const [token, reason, code] of [
      [forged, /bad_signature/, CLOSE_UNAUTHORIZED],
      [expired, /expired/, CLOSE_UNAUTHORIZED],
      [undefined, /token is required/, CLOSE_UNAUTHORIZED],
      ["mgs1.garbage", /malformed/, CLOSE_UNAUTHORIZED],
      [revoked, /revoked/, CLOSE_TOKEN_REVOKED],
    ] as const) {
      const result = await refusedHello(url, token);
      expect(result.reply).toMatchObject({
        ok: false,
        error: { code: "unauthenticated", message: expect.stringMatching(reason) },
      });
      expect(result.code).toBe(code);
    }
    expect((await good.request({ op: "ping" })).ok).toBe(true);
    expect(logs.filter((entry) => entry.event === "auth-failed")).toHaveLength(5);
    expect(hub.metricsText()).toMatch(/^mg_sync_hub_auth_failures_total 5$/m);
  });

  it("closes live connections of a revoked token with 4403", async () => {
    const { url, hub } = await startHub();
    const { token } = userToken(SECRET, "alice", { tokenId: "t-live" });
    const client = await raw(url, "dev", token);
    const other = await raw(url, "other", ALICE);
    hub.revokeToken("t-live");
    expect((await client.closed).code).toBe(CLOSE_TOKEN_REVOKED);
    expect((await other.request({ op: "ping" })).ok).toBe(true);
  });

  it("closes a connection whose token expires with 4401", async () => {
    let now = Date.now();
    const { url } = await startHub({ now: () => now, pingIntervalMs: 20 });
    const { token } = userToken(SECRET, "alice", { ttlSeconds: 60, nowMs: now });
    const client = await raw(url, "dev", token);
    now += 61_000;
    expect((await client.closed).code).toBe(CLOSE_UNAUTHORIZED);
  });

  it("denies every call outside the grants with access_denied, and the connection stays usable", async () => {
    const { url, hub } = await startHub();
    const client = await raw(url, "dev", ALICE);
    const denied = [
      { op: "publish", channel: "user.bob.sync", payload: 1 },
      { op: "publish", channel: "global.announcements", payload: 1 },
      { op: "publish", channel: "user.alice.notifications", payload: 1 },
      { op: "subscribe", channels: ["user.bob.sync"] },
      { op: "subscribe", channels: ["user.alice.sync", "user.bob.devices"] },
      { op: "subscribe", groups: ["user-bob-all"] },
      { op: "history", channel: "user.bob.sync" },
      { op: "heartbeat", channels: ["user.bob.devices"], interval: 30 },
      { op: "setState", channels: ["user.bob.devices"], state: {} },
      { op: "hereNow", channels: ["user.bob.devices"] },
      { op: "leave", channels: ["user.bob.devices"] },
      { op: "groupAdd", group: "user-bob-all", channels: ["user.alice.sync"] },
      { op: "groupRemove", group: "user-bob-all", channels: ["user.alice.sync"] },
      { op: "groupList", group: "user-bob-all" },
      { op: "groupDelete", group: "user-bob-all" },
    ];
    for (const frame of denied) {
      const reply = await client.request(frame);
      expect(reply, JSON.stringify(frame)).toMatchObject({ ok: false, error: { code: "access_denied" } });
    }
    // All-or-nothing: the denied subscribe above did not subscribe to user.alice.sync.
    expect(hub.subscriptionCount).toBe(0);
    expect((await client.request({ op: "publish", channel: "user.alice.sync", payload: 1 })).ok).toBe(true);
    expect((await client.request({ op: "subscribe", channels: ["global.trending"] })).ok).toBe(true);
    expect(hub.metricsText()).toMatch(new RegExp(`^mg_sync_hub_access_denied_total ${denied.length}$`, "m"));
  });

  it("a group delivers only the channels the token may read", async () => {
    const { url } = await startHub();
    const admin = mintToken(SECRET, {
      userId: "admin",
      grants: { groups: { "user-alice-all": ["manage"] } },
    }).token;
    const manager = await raw(url, "admin", admin);
    const add = await manager.request({
      op: "groupAdd",
      group: "user-alice-all",
      channels: ["user.alice.sync", "user.bob.sync"],
    });
    expect(add.ok).toBe(true);
    const client = await raw(url, "dev", ALICE);
    const reply = await client.request({ op: "subscribe", groups: ["user-alice-all"] });
    expect(reply).toMatchObject({ ok: true, result: { groups: { "user-alice-all": ["user.alice.sync"] } } });
    expect(Object.keys((reply.result as { channels: object }).channels)).toEqual(["user.alice.sync"]);
  });

  it("WsTransport with a fixed token that is refused reports access-denied and fails its publishes", async () => {
    const { url } = await startHub();
    const forged = userToken("a-different-secret-0123456789abcdef0123", "alice").token;
    const device = transport({ url, clientId: "dev", token: forged });
    const statuses: string[] = [];
    device.addListener({ status: (s) => statuses.push(s.type) });
    await expect(device.publish("user.alice.sync", 1)).rejects.toMatchObject({ code: "access_denied" });
    expect(statuses).toContain("access-denied");
    await expect(device.history("user.alice.sync")).rejects.toMatchObject({ code: "access_denied" });
  });

  it("WsTransport with a token function fetches a fresh token after 4401", async () => {
    let now = Date.now();
    const { url } = await startHub({ now: () => now, pingIntervalMs: 20 });
    let minted = 0;
    const device = new WsTransport({
      url,
      clientId: "dev",
      backoff: { baseMs: 10, maxMs: 50 },
      token: () => {
        minted++;
        return userToken(SECRET, "alice", { ttlSeconds: 60, nowMs: now }).token;
      },
    });
    try {
      await device.subscribe({ channels: ["user.alice.sync"] });
      expect(minted).toBe(1);
      now += 61_000;
      await waitFor(() => minted >= 2 && device.connected, "a reconnect with a fresh token");
      expect((await device.publish("user.alice.sync", 1)).timetoken).toMatch(/^\d+$/);
    } finally {
      await device.close();
    }
  });
});
