/**
 * Two and three devices over the seeded memory network converge on the watchlist, watch
 * progress and preferences (spec 5.1, 5.2), local changes are visible before any delivery
 * (optimistic), and `change` never fires for a duplicate.
 */
import { describe, expect, it } from "vitest";
import {
  failOnErrors,
  newClient,
  newNetwork,
  recordChanges,
  settle,
  startAll,
  stateOf,
} from "./support/household.js";

describe("convergence", () => {
  it("three devices converge on watchlist, progress and preferences (5.1, 5.2)", async () => {
    const network = newNetwork(1, { latency: { minMs: 5, maxMs: 80 } });
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    const web = newClient(network, "web");
    const clients = [phone, tv, web];
    const errors = clients.flatMap(failOnErrors);
    await startAll(network, clients);

    phone.watchlist.add("tmdb:550", { title: "Fight Club", year: 1999, content_type: "Movie" });
    tv.watchlist.add("tmdb:13", { title: "Forrest Gump", content_type: "Movie" });
    web.preferences.set("subtitles.language", "en");
    tv.progress.update("tmdb:550", 2065, 8217, "Playing");
    await network.runFor(50);
    phone.preferences.set("subtitles.language", "fr");
    web.watchlist.remove("tmdb:13"); // may or may not have seen the add yet: either way all agree
    tv.progress.update("tmdb:550", 2075, 8217, "Paused");
    await settle(network, clients);

    expect(stateOf(tv)).toBe(stateOf(phone));
    expect(stateOf(web)).toBe(stateOf(phone));
    for (const client of clients) {
      expect(client.watchlist.has("tmdb:550")).toBe(true);
      expect(client.watchlist.item("tmdb:550")?.content_metadata?.title).toBe("Fight Club");
      expect(client.progress.get("tmdb:550")).toMatchObject({ progress_seconds: 2075, state: "Paused" });
      expect(client.preferences.get("subtitles.language")).toBe("fr");
    }
    expect(errors).toEqual([]);
    for (const client of clients) {
      const stats = client.stats();
      expect(stats.rejected).toEqual({
        invalid: 0,
        wrong_channel: 0,
        undecryptable: 0,
        drift: 0,
        double_spent_dot: 0,
      });
      expect(stats.outbox.queued).toBe(0);
    }
  });

  it("shows a local change at once, before any delivery (optimistic, 5.1 step 1)", async () => {
    const network = newNetwork(2, { latency: { minMs: 200, maxMs: 200 } });
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    const phoneChanges = recordChanges(phone);
    const tvChanges = recordChanges(tv);

    phone.watchlist.add("tmdb:550");
    expect(phone.watchlist.values()).toEqual(["tmdb:550"]);
    expect(phoneChanges).toEqual([
      { changes: [{ kind: "watchlist", content_id: "tmdb:550", change: "added" }], origin: "local" },
    ]);
    expect(tv.watchlist.has("tmdb:550")).toBe(false);
    await network.runFor(100);
    expect(tv.watchlist.has("tmdb:550")).toBe(false); // still on the wire
    await settle(network, [phone, tv]);
    expect(tv.watchlist.values()).toEqual(["tmdb:550"]);
    expect(tvChanges.map((c) => c.origin)).toEqual(["remote"]);
  });

  it("emits change once per real change, never for duplicates (DEVIATIONS 6)", async () => {
    const network = newNetwork(3, { duplicateRate: 1 });
    const phone = newClient(network, "phone");
    const tv = newClient(network, "tv");
    await startAll(network, [phone, tv]);
    const tvChanges = recordChanges(tv);
    const phoneChanges = recordChanges(phone);

    phone.watchlist.add("a");
    phone.watchlist.add("b");
    phone.preferences.set("autoplay", false);
    await settle(network, [phone, tv]);

    expect(tvChanges.flatMap((c) => c.changes)).toEqual([
      { kind: "watchlist", content_id: "a", change: "added" },
      { kind: "watchlist", content_id: "b", change: "added" },
      { kind: "preference", key: "autoplay" },
    ]);
    // The phone hears its own messages back (twice each): no events for them.
    expect(phoneChanges.every((c) => c.origin === "local")).toBe(true);
    expect(tv.stats().duplicates).toBeGreaterThanOrEqual(3);
    expect(stateOf(tv)).toBe(stateOf(phone));
  });

  it("replays exactly: the same seed gives the same states and the same trace", async () => {
    async function run(seed: number): Promise<[string, string]> {
      const network = newNetwork(seed, { latency: { minMs: 1, maxMs: 100 }, duplicateRate: 0.2 });
      const a = newClient(network, "phone");
      const b = newClient(network, "tv");
      await startAll(network, [a, b]);
      for (let i = 0; i < 20; i++) {
        (i % 2 === 0 ? a : b).watchlist.add(`t${i % 7}`);
        if (i % 3 === 0) (i % 2 === 0 ? b : a).watchlist.remove(`t${(i + 1) % 7}`);
        await network.runFor(13 * i);
      }
      await settle(network, [a, b]);
      expect(stateOf(a)).toBe(stateOf(b));
      return [stateOf(a), network.traceDigest()];
    }
    const first = await run(42);
    expect(await run(42)).toEqual(first);
  });
});
