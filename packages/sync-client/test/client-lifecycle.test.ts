/**
 * Lifecycle and presence (spec 6.1, 6.2, 8.1, 8.2; DEVIATIONS 7): heartbeat cadence in the
 * foreground and background, no flapping while backgrounded, reconciliation on foreground,
 * graceful leave (offline at once) versus network loss (offline after two missed intervals).
 */
import { describe, expect, it } from "vitest";
import type { SyncClient } from "../src/index.js";
import { DEVICES_CHANNEL, newClient, newNetwork, observe, settle, startAll } from "./support/household.js";

function onlineIn(viewer: SyncClient, deviceId: string): boolean | undefined {
  return viewer.devices().find((d) => d.deviceId === deviceId)?.online;
}

describe("lifecycle", () => {
  it("heartbeats every 30 s, every 300 s in the background, and back with a reconciliation", async () => {
    const network = newNetwork(80);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    const wire = await observe(network, [DEVICES_CHANNEL]);
    const beats = () =>
      wire.filter((m) => m.publisher === "phone" && m.payload.msg_type === "device_heartbeat");
    const timeouts: string[] = [];
    tv.on("devices", (events) => {
      for (const e of events) if (e.action === "timeout" || e.action === "leave") timeouts.push(e.device_id);
    });

    await network.runFor(300_000);
    const foreground = beats().length;
    expect(foreground).toBeGreaterThanOrEqual(9);
    expect(foreground).toBeLessThanOrEqual(11);

    phone.background();
    await network.runFor(1000);
    expect(beats().at(-1)!.payload.heartbeat_interval).toBe(300); // announced at once
    expect(tv.devices().find((d) => d.deviceId === "phone")).toMatchObject({
      online: true,
      activity: "Idle",
      heartbeatIntervalSec: 300,
    });
    const atBackground = beats().length;
    await network.runFor(1_200_000); // 20 minutes
    const background = beats().length - atBackground;
    expect(background).toBeGreaterThanOrEqual(3);
    expect(background).toBeLessThanOrEqual(5);
    // Two of its own 300 s intervals, not the spec's fixed 60 s: no flapping (DEVIATIONS 7).
    expect(onlineIn(tv, "phone")).toBe(true);
    expect(timeouts).toEqual([]);

    const requested = phone.stats().reconciliation.requested;
    phone.foreground();
    await settle(network, [phone, tv]);
    expect(phone.stats().reconciliation.requested).toBe(requested + 1);
    expect(phone.stats().heartbeats).toMatchObject({ intervalSec: 30, background: false });
    const atForeground = beats().length;
    await network.runFor(120_000);
    expect(beats().length - atForeground).toBeGreaterThanOrEqual(4);
  });

  it("shows what each device is doing (spec 8.1, 8.3)", async () => {
    const network = newNetwork(81);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    tv.progress.update("tmdb:550", 2065, 8217, "Playing");
    await settle(network, [phone, tv]);
    expect(phone.devices().find((d) => d.deviceId === "tv")).toMatchObject({
      online: true,
      deviceType: "TV",
      platform: "Tizen",
      activity: { Watching: { content_id: "tmdb:550" } },
      currentContent: "tmdb:550",
      capabilities: { remote_controllable: true },
    });
    tv.progress.update("tmdb:550", 2070, 8217, "Paused");
    await settle(network, [phone, tv]);
    expect(phone.devices().find((d) => d.deviceId === "tv")?.activity).toEqual({
      Paused: { content_id: "tmdb:550" },
    });
  });

  it("a graceful stop is offline at once; a lost network after two missed heartbeats (8.2)", async () => {
    const network = newNetwork(82);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    const web = newClient(network, "web");
    await startAll(network, [phone, tv, web]);
    await settle(network, [phone, tv, web]);
    expect(onlineIn(phone, "tv")).toBe(true);
    expect(onlineIn(phone, "web")).toBe(true);

    const stoppedAt = network.now();
    await network.runUntilSettled(tv.stop());
    await network.runFor(500);
    expect(onlineIn(phone, "tv")).toBe(false);
    expect(network.now() - stoppedAt).toBeLessThan(2000);

    network.disconnect("web");
    await network.runFor(50_000);
    expect(onlineIn(phone, "web")).toBe(true); // 50 s: not yet
    await network.runFor(15_000);
    expect(onlineIn(phone, "web")).toBe(false); // past 2 × 30 s since its last heartbeat
  });

  it("stop() is final: local changes after it throw, reads still work", async () => {
    const network = newNetwork(83);
    const phone = newClient(network, "phone");
    await startAll(network, [phone]);
    phone.watchlist.add("kept");
    await network.runUntilSettled(phone.stop());
    expect(phone.phase).toBe("stopped");
    expect(() => phone.watchlist.add("late")).toThrow(/stopped/);
    expect(phone.watchlist.values()).toEqual(["kept"]);
    await expect(phone.start()).rejects.toThrow(/stopped/);
  });

  it("re-reads presence after a reconnect: a change made while it was cut off is seen at once", async () => {
    const network = newNetwork(81);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    expect(tv.devices().find((d) => d.deviceId === "phone")?.activity).not.toBe("Idle");

    network.partition([["phone"], ["tv"]]);
    await network.runFor(1000);
    phone.background(); // presence state Idle and a heartbeat: neither is kept in history
    await network.runFor(5000);
    network.heal();
    await settle(network, [phone, tv]);

    // The phone's next heartbeat is 300 s away: only a here-now on reconnect can tell the TV.
    expect(tv.devices().find((d) => d.deviceId === "phone")).toMatchObject({
      online: true,
      activity: "Idle",
    });
  });
});
