/**
 * Typed subscriptions and the backend publisher (spec 2.1, 4.1, 4.3, 4.4): each listener sees
 * only messages that validate for its channel, once; state-like broadcasts keep the newest;
 * notifications are encrypted end to end; watch parties chat and sync playback.
 */
import { importUserKey, type PartyChatMessage } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { createPublisher } from "../src/index.js";
import { newClient, newNetwork, observe, settle, startAll } from "./support/household.js";

const HLC_NOW = 1_733_500_900_000_000;

describe("typed feeds", () => {
  it("delivers notifications, announcements and region updates once each, trending and status newest-only", async () => {
    const network = newNetwork(90, { duplicateRate: 1 });
    const encryptionKey = await importUserKey(new Uint8Array(32).fill(3));
    const phone = newClient(network, "phone", { encryptionKey, region: "uk" });
    await startAll(network, [phone]);
    const backend = createPublisher({
      transport: network.client("backend"),
      clock: network.clock("backend"),
      encryptionKey,
    });
    const wire = await observe(network, ["user.alice.notifications"]);

    const got: string[] = [];
    phone.on("notification", (n) => got.push(`event:${n.notification_id}`));
    await network.runUntilSettled(
      phone.feeds.notifications((n) => got.push(`notification:${n.notification_id}`)),
    );
    await network.runUntilSettled(
      phone.feeds.announcements((a) => got.push(`announcement:${a.announcement_id}`)),
    );
    await network.runUntilSettled(
      phone.feeds.trending((t) => got.push(`trending:${t.items[0]?.content_id}`)),
    );
    await network.runUntilSettled(phone.feeds.region((r) => got.push(`region:${r.msg_type}:${r.region}`)));
    await network.runUntilSettled(
      phone.feeds.platformStatus("netflix", (s) => got.push(`status:${JSON.stringify(s.status)}`)),
    );

    await network.runUntilSettled(
      backend.notify("alice", {
        notification_id: "n-1",
        notification_type: { ContentExpiring: { content_id: "tmdb:550", days_remaining: 7 } },
        priority: "Medium",
        title: "Fight Club leaves Netflix in 7 days",
        body: "Watch it before it goes.",
      }),
    );
    await network.runUntilSettled(
      backend.announce({
        announcement_id: "a-1",
        kind: "feature_launch",
        title: "Watch parties",
        body: "Now live.",
      }),
    );
    const second = await network.runUntilSettled(
      backend.trending({ items: [{ rank: 1, content_id: "tmdb:2" }] }),
    );
    await network.runUntilSettled(
      backend.regionUpdate({
        msg_type: "content_available",
        content_id: "tmdb:550",
        region: "uk",
        platform_id: "netflix",
      }),
    );
    await network.runUntilSettled(
      backend.platformStatus({
        platform_id: "netflix",
        status: { Degraded: { reason: "slow CDN" } },
        affected_regions: ["uk"],
      }),
    );
    await settle(network, [phone]);

    expect(got).toEqual([
      "event:n-1",
      "notification:n-1",
      "announcement:a-1",
      "trending:tmdb:2",
      "region:content_available:uk",
      'status:{"Degraded":{"reason":"slow CDN"}}',
    ]);
    // The notification travelled encrypted (spec 12.3).
    expect(wire.length).toBeGreaterThanOrEqual(1);
    for (const m of wire) expect(Object.keys(m.payload)).toEqual(["enc"]);

    // A stale trending list (an older timestamp, e.g. a delayed batch) is ignored.
    const raw = network.client("batch");
    await network.runUntilSettled(
      raw.publish("global.trending", {
        msg_type: "trending_update",
        timestamp: second.message.timestamp - 1,
        items: [{ rank: 1, content_id: "tmdb:old" }],
      }),
    );
    // And something that is not a trending update never reaches a trending listener.
    await network.runUntilSettled(
      raw.publish("global.trending", {
        msg_type: "announcement",
        announcement_id: "x",
        kind: "feature_launch",
        title: "x",
        body: "",
        timestamp: HLC_NOW,
      }),
    );
    await settle(network, [phone]);
    expect(got.filter((g) => g.startsWith("trending"))).toEqual(["trending:tmdb:2"]);
    expect(phone.stats().rejected.wrong_channel).toBeGreaterThanOrEqual(1);
  });

  it("replays recent history on subscribe and stops delivering after unsubscribe", async () => {
    const network = newNetwork(91);
    const backend = createPublisher({
      transport: network.client("backend"),
      clock: network.clock("backend"),
    });
    for (const id of ["a-1", "a-2"]) {
      await network.runUntilSettled(
        backend.announce({
          announcement_id: id,
          kind: "system_maintenance",
          title: `Maintenance ${id}`,
          body: "",
        }),
      );
    }
    const tv = newClient(network, "tv");
    await startAll(network, [tv]);
    const got: Array<[string, boolean]> = [];
    const unsubscribe = await network.runUntilSettled(
      tv.feeds.announcements((a, meta) => got.push([a.announcement_id, meta.fromHistory]), { history: 10 }),
    );
    expect(got).toEqual([
      ["a-1", true],
      ["a-2", true],
    ]);
    await network.runUntilSettled(
      backend.announce({ announcement_id: "a-3", kind: "emergency_alert", title: "Outage", body: "" }),
    );
    await settle(network, [tv]);
    await network.runUntilSettled(unsubscribe());
    await network.runUntilSettled(
      backend.announce({ announcement_id: "a-4", kind: "feature_launch", title: "Later", body: "" }),
    );
    await settle(network, [tv]);
    expect(got.map(([id]) => id)).toEqual(["a-1", "a-2", "a-3"]);
  });

  it("the publisher refuses what devices would refuse", async () => {
    const network = newNetwork(92);
    const backend = createPublisher({
      transport: network.client("backend"),
      clock: network.clock("backend"),
    });
    await expect(
      backend.notify("alice", {
        notification_id: "n",
        notification_type: { ContentExpiring: { content_id: "tmdb:1", days_remaining: 1 } },
        priority: "Urgent" as "High",
        title: "t",
        body: "b",
      }),
    ).rejects.toThrow(/priority/);
    await expect(
      backend.publish("global.trending", {
        msg_type: "announcement",
        announcement_id: "x",
        kind: "feature_launch",
        title: "x",
        body: "",
      }),
    ).rejects.toThrow(/does not carry announcement/);
  });
});

describe("watch parties (spec 4.3)", () => {
  it("two users chat, react and sync playback; each message shows once", async () => {
    const network = newNetwork(93, { duplicateRate: 0.5 });
    const alice = newClient(network, "tv");
    const bob = newClient(network, "phone-bob", { userId: "bob" });
    await startAll(network, [alice, bob]);

    const aliceParty = await network.runUntilSettled(
      alice.joinParty("fightclub-night", { displayName: "Alice" }),
    );
    const seenByAlice: PartyChatMessage[] = [];
    aliceParty.on((m) => seenByAlice.push(m));
    const hello = aliceParty.say("Starting in 5");
    aliceParty.syncPlayback(0);
    await settle(network, [alice, bob]);

    // Bob joins late and gets the recent chat from history.
    const bobParty = await network.runUntilSettled(bob.joinParty("fightclub-night", { displayName: "Bob" }));
    const seenByBob: Array<[PartyChatMessage, boolean]> = [];
    bobParty.on((m, meta) => seenByBob.push([m, meta.fromHistory]));
    bobParty.react("laugh", hello.timestamp);
    bobParty.emoji("🍿");
    await settle(network, [alice, bob]);

    const texts = (messages: readonly PartyChatMessage[]) =>
      messages.map((m) => `${m.user_display_name}:${m.message.type}`);
    expect(texts(seenByAlice)).toEqual(["Alice:Text", "Alice:PlaybackSync", "Bob:Reaction", "Bob:Emoji"]);
    expect(texts(seenByBob.map(([m]) => m))).toEqual([
      "Alice:Text",
      "Alice:PlaybackSync",
      "Bob:Reaction",
      "Bob:Emoji",
    ]);
    expect(seenByBob.map(([, fromHistory]) => fromHistory)).toEqual([true, true, false, false]);

    await network.runUntilSettled(bobParty.leave());
    aliceParty.say("bye");
    await settle(network, [alice, bob]);
    expect(seenByBob).toHaveLength(4);
    expect(() => bobParty.say("too late")).toThrow(/left/);
  });
});
