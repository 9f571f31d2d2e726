import {
  compileChannelPatterns,
  DEFAULT_ENCRYPTED_CHANNELS,
  encodeMessage,
  encryptPayload,
  importUserKey,
  preferenceMessage,
} from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import { createPayloadDecoder, type Decoded, InboundQueue } from "../src/inbound.js";

const SYNC = "user.alice.sync";
const DEVICES = "user.alice.devices";
const pref = preferenceMessage({
  key: "subtitles",
  value: "en",
  device_id: "tv",
  timestamp: 1_733_500_800_000_000,
});

async function key(byte: number): Promise<CryptoKey> {
  return importUserKey(new Uint8Array(32).fill(byte));
}

describe("createPayloadDecoder", () => {
  it("parses plaintext and checks the channel carries the type", () => {
    const decoder = createPayloadDecoder(undefined, compileChannelPatterns([]));
    expect(decoder.decode(SYNC, pref)).toEqual({ ok: true, message: pref });
    const wrong = decoder.decode(DEVICES, pref) as Decoded;
    expect(wrong).toMatchObject({ ok: false, reason: "wrong_channel" });
    expect(decoder.decode(SYNC, { ...pref, value: undefined, key: "" })).toMatchObject({
      ok: false,
      reason: "invalid",
    });
    expect(decoder.decode(SYNC, { enc: "mgs1:AAAA" })).toMatchObject({ ok: false, reason: "undecryptable" });
  });

  it("decrypts envelopes on encrypted channels, refuses plaintext there and a wrong key", async () => {
    const right = await key(7);
    const wrong = await key(8);
    const matcher = compileChannelPatterns(DEFAULT_ENCRYPTED_CHANNELS);
    const envelope = { enc: await encryptPayload(right, encodeMessage(pref), SYNC) };
    const decoder = createPayloadDecoder(right, matcher);
    await expect(decoder.decode(SYNC, envelope)).resolves.toEqual({ ok: true, message: pref });
    expect(decoder.decode(SYNC, pref)).toMatchObject({ ok: false, reason: "undecryptable" });
    await expect(createPayloadDecoder(wrong, matcher).decode(SYNC, envelope)).resolves.toMatchObject({
      ok: false,
      reason: "undecryptable",
      detail: "authentication_failed",
    });
    // Sealed for the sync channel, replayed on the notifications channel: the AAD fails.
    await expect(decoder.decode("user.alice.notifications", envelope)).resolves.toMatchObject({
      ok: false,
      reason: "undecryptable",
    });
  });
});

describe("InboundQueue", () => {
  it("handles ready items synchronously and keeps arrival order behind pending ones", async () => {
    const handled: number[] = [];
    const queue = new InboundQueue<number>((n) => handled.push(n));
    queue.push(1);
    expect(handled).toEqual([1]);
    let release!: (n: number) => void;
    queue.push(new Promise<number>((resolve) => (release = resolve)));
    queue.push(3);
    queue.push(Promise.resolve(4));
    expect(handled).toEqual([1]);
    const idle = queue.whenIdle();
    release(2);
    await idle;
    expect(handled).toEqual([1, 2, 3, 4]);
    queue.push(5);
    expect(handled).toEqual([1, 2, 3, 4, 5]);
    expect(queue.length).toBe(0);
  });
});
