/**
 * The outbox (spec 5.1 "background publish", 10.3 "client-side queue"): nothing a device does
 * offline is lost, failed publishes are retried with backoff, and one channel's messages leave
 * in the order they were made.
 */
import type { WatchlistUpdateMessage } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { flaky } from "./support/flaky-transport.js";
import { newClient, newNetwork, SYNC_CHANNEL, settle, startAll, stateOf } from "./support/household.js";

describe("outbox", () => {
  it("keeps every change made across a partition and delivers it after the heal", async () => {
    const network = newNetwork(10);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    const web = newClient(network, "web");
    await startAll(network, [phone, tv, web]);

    network.partition([["tv", "web"], ["phone"]]);
    for (let i = 0; i < 12; i++) phone.watchlist.add(`offline-${i}`);
    phone.watchlist.remove("offline-3");
    phone.preferences.set("autoplay", true);
    tv.watchlist.add("tv-during-partition");
    await network.runFor(120_000);
    expect(tv.watchlist.has("offline-0")).toBe(false);
    expect(phone.stats().outbox.queued).toBeGreaterThan(0);

    network.heal();
    await settle(network, [phone, tv, web]);
    const expected = [
      ...Array.from({ length: 12 }, (_, i) => `offline-${i}`).filter((id) => id !== "offline-3"),
      "tv-during-partition",
    ].sort();
    for (const client of [phone, tv, web]) {
      expect(client.watchlist.values()).toEqual(expected);
      expect(client.preferences.get("autoplay")).toBe(true);
      expect(client.stats().outbox.queued).toBe(0);
      expect(client.stats().outbox.dropped).toBe(0);
    }
    expect(stateOf(tv)).toBe(stateOf(phone));
    expect(stateOf(web)).toBe(stateOf(phone));
  });

  it("retries failed publishes with backoff, in order, and drops nothing", async () => {
    const network = newNetwork(11);
    const transport = flaky(network.client("phone"));
    const phone = newClient(network, "phone", { transport });
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    const received: string[] = [];
    tv.on("change", (changes) => {
      for (const change of changes) if (change.kind === "watchlist") received.push(change.content_id);
    });

    transport.failNext(SYNC_CHANNEL, 5);
    for (let i = 0; i < 6; i++) phone.watchlist.add(`t${i}`);
    // Backoff 1 s, 2 s, 4 s, 8 s, 16 s (equal jitter: at least half of each) before the 6th try.
    await network.runFor(15_000);
    expect(tv.watchlist.values()).toEqual([]);
    await network.runFor(30_000);
    await settle(network, [phone, tv]);

    expect(transport.failed).toBe(5);
    expect(phone.stats().outbox).toMatchObject({ queued: 0, retries: 5, dropped: 0 });
    expect(received).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
    // What reached the network on the sync channel left in the order it was made.
    const sentAdds = (transport.sent.get(SYNC_CHANNEL) ?? [])
      .map((payload) => payload as WatchlistUpdateMessage)
      .filter((m) => m.msg_type === "watchlist_update")
      .map((m) => m.content_id);
    expect(sentAdds).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
  });

  it("keeps publishing after the transport reconnects (retry now, not at the next backoff)", async () => {
    const network = newNetwork(12);
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    network.disconnect("phone");
    phone.watchlist.add("while-disconnected");
    await network.runFor(10_000);
    network.reconnect("phone");
    await settle(network, [phone, tv]);
    expect(tv.watchlist.values()).toEqual(["while-disconnected"]);
  });
});
