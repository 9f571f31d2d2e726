/**
 * Access control as spec 11.1 describes, with tokens minted by the real SDK (`grantToken`,
 * signed with the secret key) and enforced by the emulator: a user's token reads and writes its
 * own `user.{id}.*` channels, reads `global.*` and `region.*`, and is refused (403 →
 * access-denied, nothing delivered) on another user's channels and on writing `global.*`.
 */
import PubNub from "pubnub";
import { describe, expect, it } from "vitest";
import { userTokenGrant } from "../src/index.js";
import {
  PUB_KEY,
  recordTransport,
  SECRET_KEY,
  SUB_KEY,
  sdkClient,
  sleep,
  startEmulator,
  transportOn,
  waitFor,
} from "./helpers.js";

const KEYSETS = [{ subscribeKey: SUB_KEY, publishKey: PUB_KEY, secretKey: SECRET_KEY }];

async function setup(now?: () => number) {
  const emulator = await startEmulator({ keysets: KEYSETS, ...(now !== undefined ? { now } : {}) });
  const server = sdkClient(emulator, "backend", { secretKey: SECRET_KEY });
  return { emulator, server };
}

describe("Access Manager v3 (spec 11.1) through the real SDK", () => {
  it("grants through a signed POST; the SDK parses the CBOR token it gets back", async () => {
    const { server, emulator } = await setup();
    const token = await server.grantToken(userTokenGrant("u1", "u1-phone"));
    const parsed = server.parseToken(token)!;
    expect(parsed.version).toBe(2);
    expect(parsed.ttl).toBe(1440);
    expect(parsed.authorized_uuid).toBe("u1-phone");
    expect(parsed.resources?.channels?.["user.u1.sync"]).toMatchObject({ read: true, write: true });
    expect(parsed.resources?.channels?.["user.u1.notifications"]).toMatchObject({ read: true, write: false });
    expect(Object.keys(parsed.patterns?.channels ?? {})).toHaveLength(2);
    const grant = emulator.requests.find((r) => r.endpoint === "grant");
    expect(grant?.method).toBe("POST");
    expect(grant?.query.signature).toMatch(/^v2\./);
  });

  it("a user token reads and writes its own channels and reads global.* and region.*", async () => {
    const { server, emulator } = await setup();
    const token = await server.grantToken(userTokenGrant("u1", "u1-phone"));
    const phone = transportOn(emulator, "u1-phone", { token });
    const log = recordTransport(phone);
    await phone.subscribe({
      channels: ["user.u1.sync", "user.u1.devices", "global.trending", "region.eu.updates"],
    });
    await phone.publish("user.u1.sync", { mine: true });
    await phone.publish("user.u1.devices", { device: "phone" });
    await server.publish({ channel: "global.trending", message: { p: { top: 1 } } });
    await server.publish({ channel: "region.eu.updates", message: { p: { region: "eu" } } });
    await waitFor("four messages", () => log.messages.length === 4);
    expect((await phone.history("user.u1.sync")).messages).toHaveLength(1);
    expect((await phone.history("global.trending")).messages).toHaveLength(1);
    expect(log.statuses.filter((s) => s.type === "access-denied")).toEqual([]);
  });

  it("refuses writing global.*, and another user's channels: access-denied, nothing delivered, own channels keep flowing", async () => {
    const { server, emulator } = await setup();
    const token = await server.grantToken(userTokenGrant("u1", "u1-phone"));
    const phone = transportOn(emulator, "u1-phone", { token });
    const log = recordTransport(phone);
    await phone.subscribe({ channels: ["user.u1.sync"] });

    await expect(phone.publish("global.trending", { spam: 1 })).rejects.toMatchObject({
      code: "access_denied",
    });
    await expect(phone.publish("user.u2.sync", { intrude: 1 })).rejects.toMatchObject({
      code: "access_denied",
    });
    await expect(phone.history("user.u2.sync")).rejects.toMatchObject({ code: "access_denied" });
    await expect(phone.subscribe({ channels: ["user.u2.sync"] })).rejects.toMatchObject({
      code: "access_denied",
    });
    expect(log.statuses.filter((s) => s.type === "access-denied")).toEqual([
      expect.objectContaining({ operation: "publish", channels: ["global.trending"] }),
      expect.objectContaining({ operation: "publish", channels: ["user.u2.sync"] }),
      expect.objectContaining({ operation: "history", channels: ["user.u2.sync"] }),
      expect.objectContaining({ operation: "subscribe", channels: ["user.u2.sync"] }),
    ]);
    await server.publish({ channel: "user.u2.sync", message: { p: { secret: "u2" } } });
    await phone.publish("user.u1.sync", { still: "works" });
    await waitFor("own message", () => log.messages.find((m) => m.channel === "user.u1.sync"), 10_000);
    await sleep(100);
    expect(log.messages.map((m) => m.channel)).toEqual(["user.u1.sync"]);
    expect(emulator.storedMessages("global.trending")).toHaveLength(0);
  });

  it("a token bound to one device is refused to another uuid; no token at all is refused", async () => {
    const { server, emulator } = await setup();
    const token = await server.grantToken(userTokenGrant("u1", "u1-phone"));
    const thief = transportOn(emulator, "u1-tv", { token });
    await expect(thief.publish("user.u1.sync", 1)).rejects.toMatchObject({ code: "access_denied" });
    const anonymous = transportOn(emulator, "nobody");
    await expect(anonymous.publish("user.u1.sync", 1)).rejects.toMatchObject({ code: "access_denied" });
  });

  it("revoked and expired tokens are refused; setToken with a fresh one resumes the subscription", async () => {
    let offsetMs = 0;
    const { server, emulator } = await setup(() => Date.now() + offsetMs);
    const token = await server.grantToken(userTokenGrant("u1", "u1-phone", { ttlMinutes: 1 }));
    const phone = transportOn(emulator, "u1-phone", { token, reconnectBackoff: { baseMs: 50, maxMs: 200 } });
    const log = recordTransport(phone);
    await phone.subscribe({ channels: ["user.u1.sync"] });
    offsetMs = 2 * 60_000;
    await expect(phone.publish("user.u1.sync", 1)).rejects.toMatchObject({ code: "access_denied" });
    // The held long-poll is answered and the next one meets the expired token.
    await server.publish({ channel: "user.u1.sync", message: { p: "wake" } });
    await waitFor("subscribe denied", () =>
      log.statuses.find((s) => s.type === "access-denied" && s.operation === "subscribe"),
    );
    const fresh = await server.grantToken(userTokenGrant("u1", "u1-phone"));
    phone.setToken(fresh);
    await server.publish({ channel: "user.u1.sync", message: { p: "after refresh" } });
    await waitFor(
      "message after refresh",
      () => log.messages.find((m) => m.payload === "after refresh"),
      10_000,
    );

    await server.revokeToken(fresh);
    await expect(phone.publish("user.u1.sync", 2)).rejects.toMatchObject({ code: "access_denied" });
  });

  it("presence and groups under the token: heartbeat, here-now, the user's group", async () => {
    const { server, emulator } = await setup();
    const token = await server.grantToken(userTokenGrant("u1", "u1-phone"));
    const phone = transportOn(emulator, "u1-phone", { token });
    const log = recordTransport(phone);
    await phone.addChannelsToGroup("user-u1-all", ["user.u1.sync", "user.u1.devices"]);
    await phone.subscribe({ channelGroups: ["user-u1-all"], withPresence: true });
    await phone.heartbeat({ channels: ["user.u1.devices"], intervalSeconds: 30, state: { a: 1 } });
    const here = await phone.hereNow({ channels: ["user.u1.devices"] });
    expect(here.channels["user.u1.devices"]?.occupants.map((o) => o.uuid)).toEqual(["u1-phone"]);
    await phone.publish("user.u1.sync", { via: "group" });
    await waitFor("group delivery", () => log.messages[0]);
    expect(log.messages[0]).toMatchObject({ subscription: "user-u1-all" });
    await expect(phone.addChannelsToGroup("user-u2-all", ["user.u2.sync"])).rejects.toMatchObject({
      code: "access_denied",
    });
  });

  it("checks v2 signatures: a server request signed with the secret key needs no token; a forged one is refused", async () => {
    const { emulator } = await setup();
    const server = sdkClient(emulator, "backend", { secretKey: SECRET_KEY });
    await server.publish({ channel: "global.announcements", message: { p: "maintenance" } });
    const signed = emulator.requests.find((r) => r.endpoint === "publish");
    expect(signed?.status).toBe(200);
    const forged = new URLSearchParams({ ...signed!.query, signature: "v2.forged" });
    const res = await fetch(`http://${emulator.origin}${signed!.path}?${forged.toString()}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: true, service: "Access Manager", status: 403 });
    // A grant without the secret key cannot even be asked for.
    const device = new PubNub({
      origin: emulator.origin,
      ssl: false,
      subscribeKey: SUB_KEY,
      publishKey: PUB_KEY,
      userId: "x",
    });
    try {
      const raw = await fetch(`http://${emulator.origin}/v3/pam/${SUB_KEY}/grant?uuid=x`, {
        method: "POST",
        body: JSON.stringify({ ttl: 5, permissions: { resources: { channels: { a: 1 } } } }),
      });
      expect(raw.status).toBe(403);
    } finally {
      device.destroy(true);
    }
  });
});
