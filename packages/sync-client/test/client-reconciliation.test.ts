/**
 * Reconciliation (spec 6.4, 10.3; DEVIATIONS 9): a device away longer than the sync channel's
 * history (100 messages / 24 h, spec 9.1) asks for the state, another device answers in chunks
 * under the message limit, and everyone converges.
 */
import { importUserKey } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { expectConverged, newClient, newNetwork, settle, startAll, stateOf } from "./support/household.js";

describe("reconciliation", () => {
  it("a device back after more than history holds reconciles (reconnect with a gap, 10.3)", async () => {
    // A small message limit forces the answer into many chunks; encryption shrinks them further.
    const network = newNetwork(60, { maxMessageBytes: 4096 });
    const encryptionKey = await importUserKey(new Uint8Array(32).fill(9));
    const phone = newClient(network, "phone", { encryptionKey });
    const tv = newClient(network, "tv", { encryptionKey });
    const web = newClient(network, "web", { encryptionKey });
    const clients = [phone, tv, web];
    await startAll(network, clients);
    tv.watchlist.add("before");
    await settle(network, clients);

    network.disconnect("tv");
    for (let i = 0; i < 150; i++) {
      phone.watchlist.add(`tmdb:${i}`, { title: `Title number ${i}`, year: 2000, content_type: "Movie" });
      if (i % 10 === 0) web.preferences.set(`pref.${i}`, { value: i });
      await network.runFor(100);
    }
    phone.watchlist.remove("before");
    await settle(network, [phone, web]);
    expect(tv.watchlist.values()).toEqual(["before"]);

    const requestedBefore = tv.stats().reconciliation.requested; // 1: a fresh device asks on start
    network.reconnect("tv");
    await settle(network, clients, 5);

    expectConverged(clients);
    expect(tv.watchlist.values()).toHaveLength(150);
    expect(tv.stats().history.gaps).toBe(1);
    expect(tv.stats().reconciliation.requested).toBe(requestedBefore + 1);
    const answers = phone.stats().reconciliation.answered + web.stats().reconciliation.answered;
    expect(answers).toBeGreaterThanOrEqual(1);
    expect(phone.stats().reconciliation.chunksSent + web.stats().reconciliation.chunksSent).toBeGreaterThan(
      5,
    );
  });

  it("a device restarted from a snapshot older than history's 24 h reconciles on start", async () => {
    const network = newNetwork(61);
    const phone = newClient(network, "phone");
    const tvTransport = network.client("tv");
    const tv = newClient(network, "tv", { transport: tvTransport });
    await startAll(network, [phone, tv]);
    phone.watchlist.add("tmdb:550");
    tv.progress.update("tmdb:550", 100, 8217, "Paused");
    await settle(network, [phone, tv]);
    const saved = JSON.parse(JSON.stringify(tv.snapshot())) as unknown;
    await network.runUntilSettled(tv.stop());
    await network.runUntilSettled(tvTransport.close());

    phone.watchlist.add("tmdb:13");
    phone.preferences.set("autoplay", false);
    await network.runFor(25 * 3_600_000); // past the 24 h retention: history is empty
    await settle(network, [phone]);

    const restored = newClient(network, "tv", { snapshot: saved });
    await startAll(network, [restored]);
    await settle(network, [phone, restored]);
    expect(restored.stats().history.gaps).toBe(1);
    expect(restored.stats().reconciliation.requested).toBe(1);
    expect(stateOf(restored)).toBe(stateOf(phone));
    expect(restored.watchlist.values()).toEqual(["tmdb:13", "tmdb:550"]);
    expect(restored.preferences.get("autoplay")).toBe(false);
  });

  it("a restart within history catches up from it and needs no reconciliation", async () => {
    const network = newNetwork(62);
    const phone = newClient(network, "phone");
    const tvTransport = network.client("tv");
    const tv = newClient(network, "tv", { transport: tvTransport });
    await startAll(network, [phone, tv]);
    phone.watchlist.add("tmdb:550");
    await settle(network, [phone, tv]);
    const saved = tv.snapshot();
    await network.runUntilSettled(tv.stop());
    await network.runUntilSettled(tvTransport.close());

    for (let i = 0; i < 30; i++) phone.watchlist.add(`t${i}`);
    await settle(network, [phone]);
    const restored = newClient(network, "tv", { snapshot: saved });
    await startAll(network, [restored]);
    await settle(network, [phone, restored]);
    expect(restored.stats().history).toMatchObject({ gaps: 0 });
    expect(restored.stats().history.messages).toBeGreaterThanOrEqual(30);
    expect(restored.stats().reconciliation.requested).toBe(0);
    expect(stateOf(restored)).toBe(stateOf(phone));
  });

  it("a new device with no snapshot gets the whole state, even when history is empty", async () => {
    const network = newNetwork(63);
    const phone = newClient(network, "phone");
    await startAll(network, [phone]);
    phone.watchlist.add("tmdb:550", { title: "Fight Club", content_type: "Movie" });
    phone.preferences.set("subtitles.language", "en");
    await settle(network, [phone]);
    await network.runFor(25 * 3_600_000);

    const web = newClient(network, "web");
    await startAll(network, [web]);
    await settle(network, [phone, web]);
    expect(web.stats().history.gaps).toBe(0);
    expect(web.stats().reconciliation.requested).toBe(1);
    expect(stateOf(web)).toBe(stateOf(phone));
    expect(web.watchlist.item("tmdb:550")?.content_metadata?.title).toBe("Fight Club");
  });

  it("answers once when every responder holds the same state", async () => {
    const network = newNetwork(64);
    const options = { reconciliationDelayMs: { min: 0, max: 2000 } };
    const phone = newClient(network, "phone", options);
    const tv = newClient(network, "tv", options);
    const web = newClient(network, "web", options);
    const clients = [phone, tv, web];
    await startAll(network, clients);
    phone.watchlist.add("shared");
    await settle(network, clients);
    const before = () => phone.stats().reconciliation.answered + tv.stats().reconciliation.answered;
    const answered0 = before();
    const suppressed0 = phone.stats().reconciliation.suppressed + tv.stats().reconciliation.suppressed;

    web.requestReconciliation();
    await settle(network, clients);
    const answered = before() - answered0;
    const suppressed =
      phone.stats().reconciliation.suppressed + tv.stats().reconciliation.suppressed - suppressed0;
    // Two candidates with equal states: the first answer makes the second redundant, unless
    // both timers ran out before either answer arrived.
    expect(answered + suppressed).toBe(2);
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(stateOf(web)).toBe(stateOf(phone));
  });

  it("a responder that knows more answers even after another device answered first", async () => {
    const network = newNetwork(65);
    const phoneTransport = network.client("phone");
    const phone = newClient(network, "phone", { transport: phoneTransport });
    const tv = newClient(network, "tv", { reconciliationDelayMs: { min: 1000, max: 1000 } });
    await startAll(network, [phone, tv]);
    phone.watchlist.add("shared");
    await settle(network, [phone, tv]);
    // Past the answer windows of the start-up requests, so that no push-back (stored when small,
    // bug G) carries what the TV adds next into history.
    await network.runFor(30_000);
    const saved = phone.snapshot();
    await network.runUntilSettled(phone.stop());
    await network.runUntilSettled(phoneTransport.close());

    // The TV adds a title, then enough else to push it out of the sync channel's history.
    tv.watchlist.add("tv-only");
    for (let i = 0; i < 110; i++) tv.preferences.set(`filler.${i}`, i);
    await settle(network, [tv]);

    // The phone comes back from its snapshot while the TV is away: history no longer has the
    // title, and nobody is there to answer its request.
    network.disconnect("tv");
    const phoneAgain = newClient(network, "phone", {
      snapshot: saved,
      reconciliationDelayMs: { min: 0, max: 0 },
    });
    await startAll(network, [phoneAgain]);
    await settle(network, [phoneAgain]);
    expect(phoneAgain.watchlist.values()).toEqual(["shared"]);
    network.reconnect("tv");
    await settle(network, [phoneAgain, tv]);

    // A new device asks. The phone answers at once without the title; the TV, a second later,
    // sees that answer, finds its own state not contained in it, and answers too.
    const tablet = newClient(network, "web-tablet");
    await startAll(network, [tablet]);
    await settle(network, [phoneAgain, tv, tablet]);
    expect(phoneAgain.stats().reconciliation.answered).toBeGreaterThanOrEqual(1);
    expect(tv.stats().reconciliation.answered).toBeGreaterThanOrEqual(1);
    expect(tablet.watchlist.values()).toEqual(["shared", "tv-only"]);
    expectConverged([tv, phoneAgain, tablet]);
  });
});
