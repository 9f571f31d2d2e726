/**
 * The drift bound (DEVIATIONS 2): a device whose clock runs 2 minutes ahead has its messages
 * rejected by the others, counted, never merged, and their clocks do not move.
 */
import { hlcWallMs } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { newClient, newNetwork, settle, startAll } from "./support/household.js";

describe("clock drift", () => {
  it("rejects and counts a skewed device's messages without moving any clock", async () => {
    const network = newNetwork(40);
    network.setSkew("web", 120_000);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    const web = newClient(network, "web");
    const clients = [phone, tv, web];
    await startAll(network, clients);

    web.watchlist.add("from-the-future");
    web.preferences.set("theme", "dark");
    phone.watchlist.add("tmdb:550");
    await settle(network, clients);

    for (const receiver of [phone, tv]) {
      expect(receiver.watchlist.values()).toEqual(["tmdb:550"]);
      expect(receiver.preferences.get("theme")).toBeUndefined();
      // join, heartbeats, both deltas: all refused.
      expect(receiver.stats().rejected.drift).toBeGreaterThanOrEqual(3);
      // Its clock never jumped to the skewed device's time.
      expect(hlcWallMs(receiver.snapshot().hlc)).toBeLessThanOrEqual(network.now() + 1000);
      // Nor does its presence view show the device (its join and heartbeats were dropped) as
      // more than the transport's own presence says.
      expect(receiver.devices().find((d) => d.deviceId === "web")?.capabilities ?? null).toBeNull();
    }
    // The skewed device accepts the others (they are behind it, not ahead).
    expect(web.watchlist.values()).toEqual(["from-the-future", "tmdb:550"]);
    expect(web.stats().rejected.drift).toBe(0);

    // Once its clock is fixed and time passes its old stamps, what it sends is accepted again.
    network.setSkew("web", 0);
    await network.runFor(180_000);
    web.watchlist.add("after-the-fix");
    await settle(network, clients);
    expect(phone.watchlist.has("after-the-fix")).toBe(true);
    expect(tv.watchlist.has("after-the-fix")).toBe(true);
  });
});
