/**
 * Progress publishing (spec 5.2, 5.3): at most one `watch_progress_update` per title per 10 s on
 * the wire, always the latest position, at once on Paused / Stopped and on `stop()`; the local
 * state updates at once regardless.
 */
import { describe, expect, it } from "vitest";
import { newClient, newNetwork, observe, SYNC_CHANNEL, settle, startAll } from "./support/household.js";

describe("progress throttle over the network", () => {
  it("sends one message per title per 10 s, the latest position, and flushes on pause", async () => {
    const network = newNetwork(20);
    const tv = newClient(network, "tv");
    const phone = newClient(network, "phone");
    await startAll(network, [tv, phone]);
    const wire = await observe(network, [SYNC_CHANNEL]);
    const start = network.now();

    // A player reporting every second for a minute.
    for (let s = 0; s < 60; s++) {
      tv.progress.update("tmdb:550", 2000 + s, 8217, "Playing");
      expect(tv.progress.get("tmdb:550")?.progress_seconds).toBe(2000 + s); // local: at once
      await network.runFor(1000);
    }
    tv.progress.update("tmdb:550", 2061, 8217, "Paused");
    await settle(network, [tv, phone]);

    const sent = wire.filter((m) => m.payload.msg_type === "watch_progress_update");
    // At 0 s, 10 s, … 60 s while playing (the newest position each time), then the pause at
    // once. Nothing more: 61 updates, 8 messages.
    expect(sent.map((m) => m.payload.progress_seconds)).toEqual([
      2000, 2009, 2019, 2029, 2039, 2049, 2059, 2061,
    ]);
    expect(sent.at(-1)!.payload.state).toBe("Paused");
    expect(tv.stats().progress).toEqual({ updates: 61, sent: 8 });
    expect(phone.progress.get("tmdb:550")).toMatchObject({ progress_seconds: 2061, state: "Paused" });
    expect(network.now() - start).toBeGreaterThan(60_000);
  });

  it("flushes a pending position on stop()", async () => {
    const network = newNetwork(21);
    const tv = newClient(network, "tv");
    const phone = newClient(network, "phone");
    await startAll(network, [tv, phone]);
    tv.progress.update("tmdb:13", 100, 8520, "Playing");
    await network.runFor(2000);
    tv.progress.update("tmdb:13", 102, 8520, "Playing");
    expect(tv.snapshot().pending).toHaveLength(1); // waiting for its interval
    await network.runUntilSettled(tv.stop());
    await settle(network, [phone]);
    expect(phone.progress.get("tmdb:13")?.progress_seconds).toBe(102);
    expect(tv.snapshot().pending).toEqual([]);
  });
});
