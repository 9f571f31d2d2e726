/**
 * Reconciliation liveness (test/simulation/README.md, bugs A–D): "needs reconciliation" is state,
 * kept in the snapshot and cleared only by a whole answer; re-requests use fresh ids; the command
 * dedup window survives a restart.
 */
import { describe, expect, it } from "vitest";
import { parseSyncClientSnapshot } from "../src/snapshot.js";
import { newClient, newNetwork, settle, startAll } from "./support/household.js";

describe("reconciliation liveness", () => {
  it("B: a snapshot taken while a reconciliation is owed says so, and the restored client asks at start", async () => {
    const network = newNetwork(71);
    const tvTransport = network.client("tv");
    const tv = newClient(network, "tv", { transport: tvTransport });
    await startAll(network, [tv]);
    tv.watchlist.add("tmdb:550");
    await settle(network, [tv]);
    // Alone: nobody answers, so the request made at start stays owed.
    const saved = JSON.parse(JSON.stringify(tv.snapshot())) as Record<string, unknown>;
    expect(saved.needsReconciliation).toBe(true);
    expect(parseSyncClientSnapshot(saved).needsReconciliation).toBe(true);
    await network.runUntilSettled(tv.stop());
    await network.runUntilSettled(tvTransport.close());

    const phone = newClient(network, "phone");
    await startAll(network, [phone]);
    phone.watchlist.add("tmdb:13");
    await settle(network, [phone]);
    const restored = newClient(network, "tv", { snapshot: saved });
    await startAll(network, [restored]);
    await settle(network, [phone, restored]);
    expect(restored.stats().history.gaps).toBe(0);
    expect(restored.stats().reconciliation.requested).toBeGreaterThanOrEqual(1);
    expect(restored.snapshot().needsReconciliation).toBeUndefined();
    // An old snapshot without the field still restores (absent = false).
    const { needsReconciliation: _, ...old } = saved;
    expect(parseSyncClientSnapshot(old).needsReconciliation).toBeUndefined();
  });

  it("A, C: a reconnect while owed asks again under a new id, and a whole answer clears the flag", async () => {
    const network = newNetwork(72);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    tv.watchlist.add("tmdb:550");
    await settle(network, [phone, tv]);
    expect(phone.snapshot().needsReconciliation).toBeUndefined();

    network.disconnect("phone");
    const first = phone.requestReconciliation(); // held: the phone is offline
    expect(phone.snapshot().needsReconciliation).toBe(true);
    tv.progress.update("tmdb:550", 60, 7200, "Paused");
    await network.runFor(2_000);
    const requested = phone.stats().reconciliation.requested;
    network.reconnect("phone");
    await settle(network, [phone, tv], 5);
    expect(phone.stats().reconciliation.requested).toBeGreaterThan(requested);
    expect(phone.requestReconciliation()).not.toBe(first);
    await settle(network, [phone, tv], 5);
    expect(phone.snapshot().needsReconciliation).toBeUndefined();
    expect(phone.progress.get("tmdb:550")?.progress_seconds).toBe(60);
  });

  it("D: a command is not run again by a target restarted within its lifetime", async () => {
    const network = newNetwork(73);
    const phone = newClient(network, "phone");
    const tvTransport = network.client("tv");
    const tv = newClient(network, "tv", { transport: tvTransport });
    await startAll(network, [phone, tv]);
    await settle(network, [phone, tv]);
    let runs = 0;
    tv.onCommand(() => {
      runs++;
    });
    await network.runUntilSettled(phone.sendCommand("tv", { type: "Pause" }, { ttlMs: 60_000 }));
    await settle(network, [phone, tv]);
    expect(runs).toBe(1);
    await network.runUntilSettled(tv.stop());
    await network.runUntilSettled(tvTransport.close());
    const saved = JSON.parse(JSON.stringify(tv.snapshot())) as Record<string, unknown>;
    expect(saved.commandIds).toHaveLength(1);
    const restored = newClient(network, "tv", { snapshot: saved });
    let rerun = 0;
    restored.onCommand(() => {
      rerun++;
    });
    await startAll(network, [restored]);
    await settle(network, [phone, restored]);
    expect(rerun).toBe(0);
    expect(restored.stats().commands.rejected.duplicate).toBe(1);
  });
});
