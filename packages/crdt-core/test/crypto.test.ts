/**
 * Payload encryption (spec 11.2, 12.3; DEVIATIONS 10). `node:crypto` and `Buffer` appear here
 * only as independent references (OpenSSL's AES-GCM and Node's base64url) for the layout the
 * Rust side of spec 11.2 produces; the module under test uses WebCrypto alone.
 */
import { createCipheriv } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  compileChannelPatterns,
  DEFAULT_ENCRYPTED_CHANNELS,
  DecryptError,
  type DecryptErrorReason,
  decryptBytes,
  decryptPayload,
  deriveUserKey,
  ENCRYPTED_TEXT_PREFIX,
  encryptBytes,
  encryptedTextLength,
  encryptPayload,
  importUserKey,
  isEncryptedChannel,
  isEncryptedEnvelope,
  NONCE_BYTES,
  PBKDF2_ITERATIONS,
} from "../src/crypto.js";

const subtle = globalThis.crypto.subtle;
const FAST_ITERATIONS = 1_000;
const CHANNEL = "user.alice.sync";

function randomKeyBytes(): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

async function expectDecryptError(
  promise: Promise<unknown>,
  reasons: readonly DecryptErrorReason[],
): Promise<DecryptError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(DecryptError);
  const decryptError = error as DecryptError;
  expect(reasons).toContain(decryptError.reason);
  return decryptError;
}

/** What the spec's Rust `encrypt_message` (aes-gcm crate) sends, in our text form. */
function referenceText(key: Uint8Array, nonce: Uint8Array, plaintext: string, channel: string): string {
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(channel, "utf8"));
  const body = Buffer.concat([nonce, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return ENCRYPTED_TEXT_PREFIX + body.toString("base64url");
}

function bodyBytes(text: string): Buffer {
  return Buffer.from(text.slice(ENCRYPTED_TEXT_PREFIX.length), "base64url");
}

function textOf(bytes: Uint8Array): string {
  return ENCRYPTED_TEXT_PREFIX + Buffer.from(bytes).toString("base64url");
}

const keyBytesArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonceArb = fc.uint8Array({ minLength: NONCE_BYTES, maxLength: NONCE_BYTES });
const plaintextArb = fc.string({ unit: "binary", maxLength: 200 });
const channelArb = fc.string({ unit: "binary", minLength: 1, maxLength: 40 });

let keyA: CryptoKey;
let keyB: CryptoKey;

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([importUserKey(randomKeyBytes()), importUserKey(randomKeyBytes())]);
});

describe("encryptPayload / decryptPayload", () => {
  it("round-trips any well-formed string on any channel", async () => {
    await fc.assert(
      fc.asyncProperty(keyBytesArb, plaintextArb, channelArb, async (raw, plaintext, channel) => {
        const key = await importUserKey(raw);
        const text = await encryptPayload(key, plaintext, channel);
        expect(text.startsWith(ENCRYPTED_TEXT_PREFIX)).toBe(true);
        expect(await decryptPayload(key, text, channel)).toBe(plaintext);
      }),
    );
  });

  it("round-trips the edge cases TextDecoder likes to eat", async () => {
    for (const plaintext of ["", "\uFEFF", "\uFEFFhello", "\u0000", "😀", "e\u0301", '{"a":"\\ud800"}']) {
      const text = await encryptPayload(keyA, plaintext, CHANNEL);
      expect(await decryptPayload(keyA, text, CHANNEL)).toBe(plaintext);
    }
  });

  it("produces exactly mgs1: + base64url(nonce || AES-256-GCM(ciphertext || tag)), AAD = channel", async () => {
    await fc.assert(
      fc.asyncProperty(
        keyBytesArb,
        nonceArb,
        plaintextArb,
        channelArb,
        async (raw, nonce, plaintext, channel) => {
          const key = await importUserKey(raw);
          const expected = referenceText(raw, nonce, plaintext, channel);
          const text = await encryptPayload(key, plaintext, channel, { fillNonce: (n) => n.set(nonce) });
          expect(text).toBe(expected);
          // And what the reference side seals, we open.
          expect(await decryptPayload(key, expected, channel)).toBe(plaintext);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("has the length encryptedTextLength predicts", async () => {
    for (let n = 0; n <= 64; n++) {
      const text = await encryptPayload(keyA, "x".repeat(n), CHANNEL);
      expect(text.length).toBe(encryptedTextLength(n));
    }
    expect(encryptedTextLength(3)).toBe(ENCRYPTED_TEXT_PREFIX.length + 42); // 31 bytes -> 42 chars
    expect(() => encryptedTextLength(-1)).toThrow(RangeError);
  });

  it("gives 10 000 distinct nonces and ciphertexts for one plaintext", async () => {
    const nonces = new Set<string>();
    const texts = new Set<string>();
    const nonceChars = (NONCE_BYTES * 4) / 3;
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 1_000 }, () => encryptPayload(keyA, "same plaintext", CHANNEL)),
      );
      for (const text of results) {
        texts.add(text);
        nonces.add(text.slice(ENCRYPTED_TEXT_PREFIX.length, ENCRYPTED_TEXT_PREFIX.length + nonceChars));
      }
    }
    expect(nonces.size).toBe(10_000);
    expect(texts.size).toBe(10_000);
  });

  it("takes its nonce from fillNonce and nowhere else", async () => {
    const nonce = Uint8Array.from({ length: NONCE_BYTES }, (_, i) => i * 17);
    const options = { fillNonce: (n: Uint8Array) => n.set(nonce) };
    const one = await encryptPayload(keyA, "hello", CHANNEL, options);
    const two = await encryptPayload(keyA, "hello", CHANNEL, options);
    expect(one).toBe(two);
    expect(bodyBytes(one).subarray(0, NONCE_BYTES)).toEqual(Buffer.from(nonce));
  });
});

describe("tampering and misdirection give DecryptError", () => {
  it("every flipped bit of the encrypted bytes fails authentication", async () => {
    const text = await encryptPayload(keyA, "hi", CHANNEL);
    const bytes = bodyBytes(text);
    expect(bytes.length).toBe(NONCE_BYTES + 2 + 16);
    const attempts: Promise<DecryptError>[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Uint8Array.from(bytes);
        flipped[i]! ^= 1 << bit;
        attempts.push(
          expectDecryptError(decryptPayload(keyA, textOf(flipped), CHANNEL), ["authentication_failed"]),
        );
        attempts.push(expectDecryptError(decryptBytes(keyA, flipped, CHANNEL), ["authentication_failed"]));
      }
    }
    expect((await Promise.all(attempts)).length).toBe(bytes.length * 8 * 2);
  });

  it("every flipped bit of the text form is rejected", async () => {
    const text = await encryptPayload(keyA, "hi", CHANNEL);
    const attempts: Promise<DecryptError>[] = [];
    for (let i = 0; i < text.length; i++) {
      for (let bit = 0; bit < 7; bit++) {
        const flipped =
          text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << bit)) + text.slice(i + 1);
        attempts.push(
          expectDecryptError(decryptPayload(keyA, flipped, CHANNEL), [
            "malformed",
            "unsupported_version",
            "authentication_failed",
          ]),
        );
      }
    }
    const errors = await Promise.all(attempts);
    // The prefix digit flips to another version; a flip inside the body to another letter reaches GCM.
    expect(errors.some((e) => e.reason === "unsupported_version")).toBe(true);
    expect(errors.some((e) => e.reason === "authentication_failed")).toBe(true);
    expect(errors.some((e) => e.reason === "malformed")).toBe(true);
  });

  it("the wrong key fails authentication", async () => {
    await fc.assert(
      fc.asyncProperty(keyBytesArb, keyBytesArb, plaintextArb, async (rawA, rawB, plaintext) => {
        fc.pre(Buffer.compare(rawA, rawB) !== 0);
        const [a, b] = await Promise.all([importUserKey(rawA), importUserKey(rawB)]);
        const text = await encryptPayload(a, plaintext, CHANNEL);
        await expectDecryptError(decryptPayload(b, text, CHANNEL), ["authentication_failed"]);
      }),
      { numRuns: 50 },
    );
  });

  it("a ciphertext replayed on another channel fails authentication", async () => {
    await fc.assert(
      fc.asyncProperty(plaintextArb, channelArb, channelArb, async (plaintext, from, to) => {
        fc.pre(from !== to);
        const text = await encryptPayload(keyA, plaintext, from);
        await expectDecryptError(decryptPayload(keyA, text, to), ["authentication_failed"]);
      }),
      { numRuns: 50 },
    );
    const text = await encryptPayload(keyA, '{"msg_type":"watch_progress_update"}', "user.alice.sync");
    for (const other of ["user.alice.notifications", "user.bob.sync", "user.alice.sync ", "User.alice.sync"])
      await expectDecryptError(decryptPayload(keyA, text, other), ["authentication_failed"]);
    const bytes = await encryptBytes(keyA, Uint8Array.of(1, 2, 3), "user.alice.sync");
    await expectDecryptError(decryptBytes(keyA, bytes, "user.bob.sync"), ["authentication_failed"]);
  });

  it("every truncation is rejected", async () => {
    const text = await encryptPayload(keyA, "a message of some length", CHANNEL);
    for (let length = 0; length < text.length; length++) {
      await expectDecryptError(decryptPayload(keyA, text.slice(0, length), CHANNEL), [
        "malformed",
        "authentication_failed",
      ]);
    }
    const bytes = await encryptBytes(keyA, Uint8Array.of(9), CHANNEL);
    for (let length = 0; length < bytes.length; length++) {
      const reason: DecryptErrorReason = length < 28 ? "malformed" : "authentication_failed";
      await expectDecryptError(decryptBytes(keyA, bytes.subarray(0, length), CHANNEL), [reason]);
    }
  });

  it("malformed input gives the right reason", async () => {
    const valid = await encryptPayload(keyA, "payload", CHANNEL);
    const body = valid.slice(ENCRYPTED_TEXT_PREFIX.length);
    const zeros = (n: number) => Buffer.alloc(n).toString("base64url");
    const cases: [string, unknown, DecryptErrorReason][] = [
      ["empty", "", "malformed"],
      ["garbage", "garbage", "malformed"],
      ["prefix only", "mgs1:", "malformed"],
      ["prefix without colon", "mgs1", "malformed"],
      ["upper-case prefix", `MGS1:${body}`, "malformed"],
      ["foreign prefix", `xyz1:${body}`, "malformed"],
      ["no prefix", body, "malformed"],
      ["leading space", ` ${valid}`, "malformed"],
      ["trailing space", `${valid} `, "malformed"],
      ["trailing newline", `${valid}\n`, "malformed"],
      ["padding", `${valid}==`, "malformed"],
      ["standard base64 alphabet", `mgs1:${Buffer.alloc(30, 0xfb).toString("base64")}`, "malformed"],
      ["non-ASCII character", `mgs1:${body.slice(0, -1)}é`, "malformed"],
      ["impossible length", `mgs1:${"A".repeat(41)}`, "malformed"],
      ["27 bytes, shorter than nonce + tag", `mgs1:${zeros(27)}`, "malformed"],
      ["non-canonical trailing bits", `mgs1:${zeros(28).slice(0, -1)}B`, "malformed"],
      ["not a string", 42, "malformed"],
      ["newer version", `mgs2:${body}`, "unsupported_version"],
      ["older version", `mgs0:${body}`, "unsupported_version"],
      ["two-digit version", `mgs10:${body}`, "unsupported_version"],
      ["28 zero bytes (well-formed, forged)", `mgs1:${zeros(28)}`, "authentication_failed"],
    ];
    for (const [name, input, reason] of cases) {
      const error = await expectDecryptError(decryptPayload(keyA, input as string, CHANNEL), [reason]);
      expect(error.name, name).toBe("DecryptError");
      expect(error.message.length, name).toBeGreaterThan(0);
    }
  });

  it("authenticated bytes that are not UTF-8 are malformed, not mangled", async () => {
    const sealed = await encryptBytes(keyA, Uint8Array.of(0x66, 0xff, 0x6f), CHANNEL);
    await expectDecryptError(decryptPayload(keyA, textOf(sealed), CHANNEL), ["malformed"]);
  });
});

describe("encryptBytes / decryptBytes", () => {
  it("round-trips bytes, and are the bytes inside the text form", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), nonceArb, async (plaintext, nonce) => {
        const options = { fillNonce: (n: Uint8Array) => n.set(nonce) };
        const sealed = await encryptBytes(keyA, plaintext, CHANNEL, options);
        expect(sealed.length).toBe(NONCE_BYTES + plaintext.length + 16);
        expect(await decryptBytes(keyA, sealed, CHANNEL)).toEqual(plaintext);
        const latin = String.fromCharCode(...plaintext.filter((b) => b < 0x80));
        const text = await encryptPayload(keyA, latin, CHANNEL, options);
        const sealedText = await encryptBytes(keyA, new TextEncoder().encode(latin), CHANNEL, options);
        expect(new Uint8Array(bodyBytes(text))).toEqual(sealedText);
      }),
      { numRuns: 50 },
    );
  });

  it("accepts a view into a larger buffer", async () => {
    const backing = Uint8Array.of(0, 0, 1, 2, 3, 0, 0);
    const sealed = await encryptBytes(keyA, backing.subarray(2, 5), CHANNEL);
    const framed = new Uint8Array(sealed.length + 4);
    framed.set(sealed, 2);
    expect(await decryptBytes(keyA, framed.subarray(2, 2 + sealed.length), CHANNEL)).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });
});

describe("keys", () => {
  const interoperate = async (a: CryptoKey, b: CryptoKey): Promise<boolean> => {
    const text = await encryptPayload(a, "probe", CHANNEL);
    try {
      return (await decryptPayload(b, text, CHANNEL)) === "probe";
    } catch (error) {
      if (error instanceof DecryptError && error.reason === "authentication_failed") return false;
      throw error;
    }
  };

  it("derives one key per (password, user): devices agree, users and passwords differ", async () => {
    const options = { iterations: FAST_ITERATIONS };
    const [phone, tv, bob, otherPassword] = await Promise.all([
      deriveUserKey("correct horse", "alice", options),
      deriveUserKey("correct horse", "alice", options),
      deriveUserKey("correct horse", "bob", options),
      deriveUserKey("correct horse!", "alice", options),
    ]);
    expect(await interoperate(phone, tv)).toBe(true);
    expect(await interoperate(tv, phone)).toBe(true);
    expect(await interoperate(phone, bob)).toBe(false);
    expect(await interoperate(phone, otherPassword)).toBe(false);
    const fewer = await deriveUserKey("correct horse", "alice", { iterations: FAST_ITERATIONS - 1 });
    expect(await interoperate(phone, fewer)).toBe(false);
  });

  it("salts with SHA-256 of the fixed prefix and the user id (the cross-language contract)", async () => {
    const salt = await subtle.digest("SHA-256", new TextEncoder().encode("mg-sync/user-key/v1\u0000alice"));
    const base = await subtle.importKey("raw", new TextEncoder().encode("pässword"), "PBKDF2", false, [
      "deriveBits",
    ]);
    const bits = await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt, iterations: FAST_ITERATIONS },
      base,
      256,
    );
    const reference = await importUserKey(new Uint8Array(bits));
    const derived = await deriveUserKey("pässword", "alice", { iterations: FAST_ITERATIONS });
    expect(await interoperate(reference, derived)).toBe(true);
  });

  it("normalises the password to NFC, so keyboards that compose differently agree", async () => {
    const options = { iterations: FAST_ITERATIONS };
    const composed = await deriveUserKey("caf\u00e9", "alice", options);
    const decomposed = await deriveUserKey("cafe\u0301", "alice", options);
    expect(await interoperate(composed, decomposed)).toBe(true);
  });

  it("makes non-extractable AES-256-GCM keys", async () => {
    const derived = await deriveUserKey("pw", "alice", { iterations: FAST_ITERATIONS });
    for (const key of [derived, keyA]) {
      expect(key.extractable).toBe(false);
      expect(key.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
      expect([...key.usages].sort()).toEqual(["decrypt", "encrypt"]);
      await expect(subtle.exportKey("raw", key)).rejects.toThrow();
    }
  });

  it(`interoperates across devices at the default ${PBKDF2_ITERATIONS} iterations`, async () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    const salt = await subtle.digest("SHA-256", new TextEncoder().encode("mg-sync/user-key/v1\u0000alice"));
    const base = await subtle.importKey("raw", new TextEncoder().encode("hunter2"), "PBKDF2", false, [
      "deriveBits",
    ]);
    const [phone, tv, bob, reference] = await Promise.all([
      deriveUserKey("hunter2", "alice"),
      deriveUserKey("hunter2", "alice"),
      deriveUserKey("hunter2", "bob"),
      subtle
        .deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 100_000 }, base, 256)
        .then((bits) => importUserKey(new Uint8Array(bits))),
    ]);
    expect(await interoperate(phone, tv)).toBe(true);
    expect(await interoperate(tv, phone)).toBe(true);
    expect(await interoperate(reference, tv)).toBe(true);
    expect(await interoperate(phone, bob)).toBe(false);
    expect(await interoperate(bob, tv)).toBe(false);
  });

  it("refuses exactly the plaintexts that are not well-formed UTF-16", async () => {
    const units = fc.constantFrom("a", "\ud800", "\udc00", "\ud83d\ude00");
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: units, maxLength: 6 }), async (plaintext) => {
        // Node's UTF-8 encoder replaces lone surrogates, so only well-formed strings survive it.
        const wellFormed = Buffer.from(plaintext, "utf8").toString("utf8") === plaintext;
        const sealed = encryptPayload(keyA, plaintext, CHANNEL);
        if (wellFormed) expect(await decryptPayload(keyA, await sealed, CHANNEL)).toBe(plaintext);
        else await expect(sealed).rejects.toThrow(/plaintext contains a lone UTF-16 surrogate/);
      }),
    );
  });

  it("rejects misuse with TypeError / RangeError naming the argument", async () => {
    await expect(importUserKey(new Uint8Array(31))).rejects.toThrow(/raw must be 32 bytes/);
    await expect(importUserKey(new Uint8Array(33))).rejects.toThrow(RangeError);
    await expect(deriveUserKey("", "alice")).rejects.toThrow(/password/);
    await expect(deriveUserKey("pw", "")).rejects.toThrow(/userId/);
    await expect(deriveUserKey("pw", "alice", { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(deriveUserKey("pw", "alice", { iterations: 1.5 })).rejects.toThrow(/iterations/);
    await expect(deriveUserKey("pw\ud800", "alice", { iterations: 1 })).rejects.toThrow(/password/);
    await expect(encryptPayload(keyA, "lone \ud800 surrogate", CHANNEL)).rejects.toThrow(TypeError);
    await expect(encryptPayload(keyA, "\udc00", CHANNEL)).rejects.toThrow(/plaintext/);
    await expect(encryptPayload(keyA, "x", "")).rejects.toThrow(/channel/);
    await expect(decryptPayload(keyA, "mgs1:", "")).rejects.toThrow(TypeError);
    const hmac = await subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const aes128 = await subtle.generateKey({ name: "AES-GCM", length: 128 }, false, ["encrypt", "decrypt"]);
    const encryptOnly = await subtle.importKey("raw", randomKeyBytes(), "AES-GCM", false, ["encrypt"]);
    await expect(encryptPayload(hmac, "x", CHANNEL)).rejects.toThrow(/key/);
    await expect(encryptPayload(aes128, "x", CHANNEL)).rejects.toThrow(/AES-256-GCM/);
    const text = await encryptPayload(encryptOnly, "x", CHANNEL);
    await expect(decryptPayload(encryptOnly, text, CHANNEL)).rejects.toThrow(/decrypt/);
  });
});

describe("isEncryptedChannel", () => {
  it("defaults to spec 12.3: user.*.sync and user.*.notifications", () => {
    expect(DEFAULT_ENCRYPTED_CHANNELS).toEqual(["user.*.sync", "user.*.notifications"]);
    const table: [string, boolean][] = [
      ["user.alice.sync", true],
      ["user.alice.notifications", true],
      ["user.7f3a-9c.sync", true],
      ["user.alice.devices", false],
      ["user.a.b.sync", false],
      ["user..sync", false],
      ["user.sync", false],
      ["user.alice.sync.extra", false],
      ["user.alice.sync.", false],
      [".user.alice.sync", false],
      ["user.alice.synced", false],
      ["user.alice.syn", false],
      ["users.alice.sync", false],
      ["xuser.alice.sync", false],
      ["User.alice.sync", false],
      ["user-alice-all", false],
      ["global.trending", false],
      ["global.announcements", false],
      ["region.eu.updates", false],
      ["platform.netflix.catalog", false],
      ["", false],
    ];
    for (const [channel, expected] of table) expect(isEncryptedChannel(channel), channel).toBe(expected);
  });

  it("takes its patterns from configuration", () => {
    const patterns = ["user.*.sync", "region.eu.updates", "*.*", "a.*.*.d"];
    const match = compileChannelPatterns(patterns);
    const table: [string, boolean][] = [
      ["user.alice.sync", true],
      ["user.alice.notifications", false],
      ["region.eu.updates", true],
      ["region.us.updates", false],
      ["global.trending", true],
      ["x.y", true],
      ["x.", false],
      ["a.b.c.d", true],
      ["a.b.d", false],
      ["a.b.c.e", false],
    ];
    for (const [channel, expected] of table) {
      expect(match(channel), channel).toBe(expected);
      expect(isEncryptedChannel(channel, patterns), channel).toBe(expected);
    }
    expect(isEncryptedChannel("user.alice.sync", [])).toBe(false);
  });

  it("* is exactly one non-empty segment", () => {
    const segment = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes("."));
    fc.assert(
      fc.property(segment, segment, (a, b) => {
        expect(isEncryptedChannel(`user.${a}.sync`)).toBe(true);
        expect(isEncryptedChannel(`user.${a}.notifications`)).toBe(true);
        expect(isEncryptedChannel(`user.${a}.${b}.sync`)).toBe(false);
        expect(isEncryptedChannel(`user.${a}.devices`)).toBe(false);
      }),
    );
  });

  it("rejects malformed patterns", () => {
    expect(() => compileChannelPatterns(["user..sync"])).toThrow(/patterns\[0\].*empty segment/);
    expect(() => compileChannelPatterns(["ok", ""])).toThrow(/patterns\[1\]/);
    expect(() => compileChannelPatterns(["user.*.sync."])).toThrow(RangeError);
    expect(() => compileChannelPatterns(["user*.sync"])).toThrow(/whole segment/);
    expect(() => isEncryptedChannel("user.alice.sync", ["user.a*.sync"])).toThrow(RangeError);
  });
});

describe("encrypted envelope", () => {
  it("recognises exactly { enc: string }", () => {
    const table: [unknown, boolean][] = [
      [{ enc: "mgs1:AAAA" }, true],
      [JSON.parse('{"enc":"mgs2:whatever"}'), true],
      [{ enc: "" }, true],
      [{ enc: 1 }, false],
      [{ enc: "mgs1:AAAA", msg_type: "watch_progress_update" }, false],
      [{ msg_type: "watch_progress_update" }, false],
      [{}, false],
      [Object.create({ enc: "mgs1:AAAA" }), false],
      [["mgs1:AAAA"], false],
      ["mgs1:AAAA", false],
      [null, false],
      [undefined, false],
    ];
    for (const [value, expected] of table)
      expect(isEncryptedEnvelope(value), JSON.stringify(value)).toBe(expected);
  });

  it("carries a whole message through a JSON transport", async () => {
    const message = { msg_type: "watch_progress_update", content_id: "tmdb:550", progress_seconds: 3245 };
    const channel = "user.alice.sync";
    expect(isEncryptedChannel(channel)).toBe(true);
    const wire = JSON.stringify({ enc: await encryptPayload(keyA, JSON.stringify(message), channel) });
    expect(wire).not.toContain("tmdb");
    const received: unknown = JSON.parse(wire);
    if (!isEncryptedEnvelope(received)) throw new Error("expected an envelope");
    expect(JSON.parse(await decryptPayload(keyA, received.enc, channel))).toEqual(message);
    await expectDecryptError(decryptPayload(keyB, received.enc, channel), ["authentication_failed"]);
  });
});
