/**
 * Snapshots: a device restarted from a saved snapshot — even one older than what it published
 * since — mints fresh dots (a new incarnation), publishes what it never got acknowledged, and
 * converges.
 */
import { describe, expect, it } from "vitest";
import { SnapshotError } from "../src/index.js";
import {
  expectConverged,
  newClient,
  newNetwork,
  observe,
  SYNC_CHANNEL,
  settle,
  startAll,
} from "./support/household.js";

describe("restart from a snapshot", () => {
  it("mints fresh dots after restoring an older snapshot, so no peer sees a dot twice", async () => {
    const network = newNetwork(70);
    const phoneTransport = network.client("phone");
    const phone = newClient(network, "phone", { transport: phoneTransport });
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    phone.watchlist.add("a");
    await settle(network, [phone, tv]);
    const old = JSON.parse(JSON.stringify(phone.snapshot())) as unknown;
    // Published after the snapshot: dots 2 and 3 of this incarnation.
    phone.watchlist.add("b");
    phone.watchlist.add("c");
    await settle(network, [phone, tv]);
    // A crash: no stop(), the transport just goes away.
    await network.runUntilSettled(phoneTransport.close());

    const restored = newClient(network, "phone", { snapshot: old });
    expect(restored.incarnation).not.toBe(phone.incarnation);
    expect(restored.watchlist.values()).toEqual(["a"]);
    // Offline, before it has caught up: with the old replica id this add would mint dot 2 again,
    // which the TV already holds for "b".
    restored.watchlist.add("d");
    await startAll(network, [restored]);
    await settle(network, [restored, tv]);

    expect(tv.stats().rejected.double_spent_dot).toBe(0);
    expect(restored.stats().rejected.double_spent_dot).toBe(0);
    expect(tv.watchlist.values()).toEqual(["a", "b", "c", "d"]);
    expectConverged([tv, restored]);
    const dots = restored.state().watchlist.entries.get("d")!;
    expect(dots.map((d) => [d.replica, d.counter])).toEqual([[restored.incarnation, 1]]);
  });

  it("publishes, after a restart, the changes the transport never acknowledged", async () => {
    const network = newNetwork(71);
    const phoneTransport = network.client("phone");
    const phone = newClient(network, "phone", { transport: phoneTransport });
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);

    network.disconnect("phone");
    phone.watchlist.add("made-offline");
    phone.preferences.set("autoplay", false);
    phone.progress.update("tmdb:550", 120, 8217, "Playing");
    await network.runFor(5000);
    const saved = JSON.parse(JSON.stringify(phone.snapshot())) as { pending: unknown[] };
    expect(saved.pending).toHaveLength(3);
    await network.runUntilSettled(phoneTransport.close());
    network.reconnect("phone");
    const wire = await observe(network, [SYNC_CHANNEL]);

    const restored = newClient(network, "phone", { snapshot: saved });
    await startAll(network, [restored]);
    await settle(network, [restored, tv]);
    expect(tv.watchlist.values()).toEqual(["made-offline"]);
    expect(tv.preferences.get("autoplay")).toBe(false);
    expect(tv.progress.get("tmdb:550")?.progress_seconds).toBe(120);
    expect(restored.snapshot().pending).toEqual([]);
    // They travelled as the republished deltas themselves, not only inside a reconciliation
    // answer (which would bring the same end state here, so the end state alone proves nothing).
    const republished = wire.filter((m) => m.publisher === "phone").map((m) => m.payload.msg_type);
    expect(republished).toEqual(
      expect.arrayContaining(["watchlist_update", "preference_update", "watch_progress_update"]),
    );
    expectConverged([tv, restored]);
  });

  it("refuses a snapshot that is not one, naming the field", () => {
    const network = newNetwork(72);
    expect(() =>
      newClient(network, "phone", { snapshot: { version: 1, deviceId: "phone", state: {} } }),
    ).toThrow(SnapshotError);
  });
});
