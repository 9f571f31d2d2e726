/**
 * End-to-end encryption (spec 11.2, 12.3, DEVIATIONS 10): devices sharing the key converge and
 * the wire carries only `{enc}` envelopes on the encrypted channels; a device with the wrong key
 * counts what it cannot open and never merges it; plaintext on an encrypted channel is refused.
 */
import { importUserKey } from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import {
  DEVICES_CHANNEL,
  newClient,
  newNetwork,
  observe,
  SYNC_CHANNEL,
  settle,
  startAll,
  stateOf,
} from "./support/household.js";

const key = (byte: number) => importUserKey(new Uint8Array(32).fill(byte));

describe("encryption end to end", () => {
  it("devices with the key converge; the wrong key counts undecryptable and never merges", async () => {
    const network = newNetwork(30);
    const right = await key(1);
    const phone = newClient(network, "phone", { encryptionKey: right });
    const tv = newClient(network, "tv", { encryptionKey: right });
    const intruder = newClient(network, "web", { encryptionKey: await key(2) });
    const wire = await observe(network, [SYNC_CHANNEL, DEVICES_CHANNEL]);
    await startAll(network, [phone, tv, intruder]);

    phone.watchlist.add("tmdb:550", { title: "Fight Club", content_type: "Movie" });
    tv.preferences.set("subtitles.language", "en");
    tv.progress.update("tmdb:550", 10, 8217, "Paused");
    intruder.watchlist.add("tmdb:666");
    await settle(network, [phone, tv, intruder]);

    expect(stateOf(tv)).toBe(stateOf(phone));
    expect(phone.watchlist.values()).toEqual(["tmdb:550"]);
    expect(phone.preferences.get("subtitles.language")).toBe("en");
    // The intruder keeps only its own change and merged nothing of ours.
    expect(intruder.watchlist.values()).toEqual(["tmdb:666"]);
    expect(intruder.preferences.get("subtitles.language")).toBeUndefined();
    expect(intruder.stats().rejected.undecryptable).toBeGreaterThanOrEqual(3);
    expect(phone.stats().rejected.undecryptable).toBeGreaterThanOrEqual(1);
    expect(tv.stats().rejected.undecryptable).toBeGreaterThanOrEqual(1);

    const syncPayloads = wire.filter((m) => m.channel === SYNC_CHANNEL).map((m) => m.payload);
    expect(syncPayloads.length).toBeGreaterThanOrEqual(4);
    for (const payload of syncPayloads) expect(Object.keys(payload)).toEqual(["enc"]);
    // The devices channel is not encrypted by default (spec 12.3).
    expect(wire.some((m) => m.channel === DEVICES_CHANNEL && m.payload.msg_type === "device_join")).toBe(
      true,
    );
  });

  it("refuses plaintext on an encrypted channel (no downgrade)", async () => {
    const network = newNetwork(31);
    const phone = newClient(network, "phone", { encryptionKey: await key(1) });
    const legacy = newClient(network, "tv"); // no key: publishes plaintext
    await startAll(network, [phone, legacy]);
    legacy.watchlist.add("tmdb:550");
    phone.watchlist.add("tmdb:13");
    await settle(network, [phone, legacy]);
    expect(phone.watchlist.values()).toEqual(["tmdb:13"]);
    expect(legacy.watchlist.values()).toEqual(["tmdb:550"]);
    expect(phone.stats().rejected.undecryptable).toBeGreaterThanOrEqual(1);
    expect(legacy.stats().rejected.undecryptable).toBeGreaterThanOrEqual(1);
  });
});
