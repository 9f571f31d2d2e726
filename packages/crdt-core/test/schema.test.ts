import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  array,
  boolean,
  externallyTagged,
  integer,
  json,
  literal,
  nullable,
  number,
  object,
  oneOf,
  parseWith,
  record,
  string,
  taggedUnion,
  ValidationError,
} from "../src/schema.js";

const capabilities = object(
  {
    max_resolution: oneOf(["SD", "HD", "FHD", "UHD_4K", "UHD_8K"]),
    audio_codecs: array(oneOf(["AAC", "Dolby_Atmos", "DTS_X"]), { max: 3 }),
    remote_controllable: boolean,
  },
  { screen_size: nullable(number({ min: 0, max: 1000 })) },
);
const device = object({ device_id: string({ min: 1, max: 8 }), capabilities });

describe("schema", () => {
  test("errors name the JSON path and the reason", () => {
    const result = parseWith(device, {
      device_id: "tv",
      capabilities: { max_resolution: "4K", audio_codecs: [], remote_controllable: true },
    });
    expect(result).toEqual({
      ok: false,
      error: { path: "capabilities.max_resolution", reason: "expected one of SD, HD, FHD, UHD_4K, UHD_8K" },
    });
    expect(
      parseWith(device, {
        device_id: "tv",
        capabilities: { max_resolution: "SD", audio_codecs: ["AAC", "MP3"], remote_controllable: true },
      }),
    ).toEqual({
      ok: false,
      error: { path: "capabilities.audio_codecs[1]", reason: "expected one of AAC, Dolby_Atmos, DTS_X" },
    });
    expect(parseWith(device, { capabilities: {} })).toEqual({
      ok: false,
      error: { path: "device_id", reason: "is required" },
    });
    expect(parseWith(device, { device_id: "123456789", capabilities: {} })).toEqual({
      ok: false,
      error: { path: "device_id", reason: "expected at most 8 characters, got 9" },
    });
  });

  test("unknown fields are dropped and absent optional fields stay absent", () => {
    const result = parseWith(device, {
      device_id: "tv",
      extra: 1,
      capabilities: { max_resolution: "SD", audio_codecs: [], remote_controllable: false, future: true },
    });
    expect(result).toEqual({
      ok: true,
      value: {
        device_id: "tv",
        capabilities: { max_resolution: "SD", audio_codecs: [], remote_controllable: false },
      },
    });
  });

  test("numbers: finite, in range, integers where asked", () => {
    expect(parseWith(number({ min: 0, max: 1 }), 1.5)).toEqual({
      ok: false,
      error: { path: "", reason: "expected a number from 0 to 1, got 1.5" },
    });
    expect(parseWith(integer({ min: 1, max: 5 }), 2.5).ok).toBe(false);
    expect(parseWith(integer(), -1)).toEqual({
      ok: false,
      error: { path: "", reason: "expected a non-negative integer, got -1" },
    });
    expect(parseWith(integer(), 2 ** 53)).toMatchObject({ ok: false });
    expect(parseWith(number(), Number.NaN)).toEqual({
      ok: false,
      error: { path: "", reason: "expected a finite number, got NaN" },
    });
  });

  test("tagged unions pick the variant by its tag", () => {
    type Command = { type: "Play" } | { type: "Seek"; params: { position_seconds: number } };
    const command = taggedUnion<Command>("type", {
      Play: object({ type: literal("Play") }),
      Seek: object({ type: literal("Seek"), params: object({ position_seconds: integer() }) }),
    });
    expect(parseWith(command, { type: "Seek", params: { position_seconds: -3 } })).toEqual({
      ok: false,
      error: { path: "params.position_seconds", reason: "expected a non-negative integer, got -3" },
    });
    expect(parseWith(command, { type: "Rewind" })).toEqual({
      ok: false,
      error: { path: "type", reason: "expected one of Play, Seek" },
    });
    expect(parseWith(command, { type: "toString" }).ok).toBe(false);
  });

  test("externally tagged enums in serde's default form", () => {
    const activity = externallyTagged(["Idle", "Browsing"], {
      Watching: object({ content_id: string({ min: 1 }) }),
    });
    expect(parseWith(activity, "Idle")).toEqual({ ok: true, value: "Idle" });
    expect(parseWith(activity, { Watching: { content_id: "tmdb:550" } })).toEqual({
      ok: true,
      value: { Watching: { content_id: "tmdb:550" } },
    });
    expect(parseWith(activity, { Watching: { content_id: "" } })).toEqual({
      ok: false,
      error: { path: "Watching.content_id", reason: "expected a non-empty string" },
    });
    expect(parseWith(activity, { Watching: {}, Idle: {} }).ok).toBe(false);
    expect(parseWith(activity, "Sleeping").ok).toBe(false);
  });

  test("records and JSON values never let __proto__ become a prototype", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}');
    const asRecord = parseWith(record(json()), parsed);
    const asJson = parseWith(json(), parsed);
    for (const result of [asRecord, asJson]) {
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      const value = result.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.keys(value)).toEqual(["__proto__"]);
      expect((value as { polluted?: unknown }).polluted).toBeUndefined();
    }
  });

  test("json() accepts every JSON value and limits depth", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const copy = JSON.parse(JSON.stringify(value));
        expect(parseWith(json(), copy)).toEqual({ ok: true, value: copy });
      }),
    );
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(parseWith(json({ maxDepth: 16 }), deep).ok).toBe(false);
  });

  test("checks never throw anything but ValidationError on any input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          device(input);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
        expect(() => parseWith(device, input)).not.toThrow();
      }),
    );
  });
});
