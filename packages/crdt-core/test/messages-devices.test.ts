import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkRemoteCommand,
  checkRemoteCommandMessage,
  commandIdOf,
  commandMessageChecks,
  MAX_COMMAND_TTL_MS,
} from "../src/messages/commands.js";
import {
  checkDeviceCapabilities,
  checkDeviceHeartbeat,
  checkDeviceJoin,
  checkDeviceLeave,
  deviceMessageChecks,
} from "../src/messages/devices.js";
import {
  activityContentId,
  activityEquals,
  checkDeviceActivity,
  checkDevicePresenceState,
  checkPresenceEvent,
  presenceMessageChecks,
} from "../src/messages/presence.js";
import { type Check, formatPath, type PathSegment, parseWith } from "../src/schema.js";
import {
  deviceActivityArbitrary,
  deviceCapabilitiesArbitrary,
  deviceHeartbeatArbitrary,
  deviceJoinArbitrary,
  deviceLeaveArbitrary,
  devicePresenceStateArbitrary,
  presenceEventArbitrary,
  remoteCommandArbitrary,
  remoteCommandMessageArbitrary,
} from "../src/testing/device-arbitraries.js";
import { SPEC_EXAMPLES } from "./spec-examples.js";

// The literal JSON of the spec's examples, unchanged.
const SPEC_6_1_DEVICE_JOIN = SPEC_EXAMPLES["6.1 device_join"]!;

const SPEC_3_3_HEARTBEAT = SPEC_EXAMPLES["3.3 device_heartbeat"]!;

const SPEC_3_4_REMOTE_COMMAND = SPEC_EXAMPLES["3.4 remote_command"]!;

function valid<T>(check: Check<T>, input: unknown): T {
  const result = parseWith(check, input);
  if (!result.ok) throw new Error(`expected valid, got ${result.error.path}: ${result.error.reason}`);
  return result.value;
}

function errorOf<T>(check: Check<T>, input: unknown): string {
  const result = parseWith(check, input);
  if (result.ok) throw new Error("expected a rejection");
  return result.error.path === "" ? result.error.reason : `${result.error.path}: ${result.error.reason}`;
}

function with_(json: string, mutate: (value: Record<string, unknown>) => void): unknown {
  const value = JSON.parse(json) as Record<string, unknown>;
  mutate(value);
  return value;
}

describe("spec examples validate unchanged", () => {
  it.each([
    ["6.1 device_join", checkDeviceJoin, SPEC_6_1_DEVICE_JOIN],
    ["3.3 device_heartbeat", checkDeviceHeartbeat, SPEC_3_3_HEARTBEAT],
    ["3.4 remote_command", checkRemoteCommandMessage, SPEC_3_4_REMOTE_COMMAND],
  ] as const)("%s", (_name, check: Check<unknown>, json) => {
    const parsed = JSON.parse(json) as unknown;
    expect(valid(check, parsed)).toEqual(parsed);
  });

  it("the family maps dispatch each msg_type to its check", () => {
    expect(valid(deviceMessageChecks.device_join, JSON.parse(SPEC_6_1_DEVICE_JOIN))).toMatchObject({
      msg_type: "device_join",
    });
    expect(valid(deviceMessageChecks.device_heartbeat, JSON.parse(SPEC_3_3_HEARTBEAT))).toMatchObject({
      msg_type: "device_heartbeat",
    });
    expect(valid(commandMessageChecks.remote_command, JSON.parse(SPEC_3_4_REMOTE_COMMAND))).toMatchObject({
      msg_type: "remote_command",
    });
    expect(Object.keys(deviceMessageChecks).sort()).toEqual([
      "device_heartbeat",
      "device_join",
      "device_leave",
    ]);
    expect(Object.keys(commandMessageChecks)).toEqual(["remote_command"]);
    expect(Object.keys(presenceMessageChecks)).toEqual(["presence_event"]);
  });
});

describe("device messages: errors name the path and the reason", () => {
  it("capabilities", () => {
    const bad = with_(SPEC_6_1_DEVICE_JOIN, (v) => {
      (v.capabilities as Record<string, unknown>).max_resolution = "4K";
    });
    expect(errorOf(checkDeviceJoin, bad)).toBe(
      "capabilities.max_resolution: expected one of SD, HD, FHD, UHD_4K, UHD_8K",
    );
    const codec = with_(SPEC_3_3_HEARTBEAT, (v) => {
      (v.capabilities as Record<string, unknown>).audio_codecs = ["AAC", "MP3"];
    });
    expect(errorOf(checkDeviceHeartbeat, codec)).toBe(
      "capabilities.audio_codecs[1]: expected one of AAC, Dolby_Atmos, DTS_X",
    );
    const hdr = with_(SPEC_3_3_HEARTBEAT, (v) => {
      (v.capabilities as Record<string, unknown>).hdr_support = ["HDR10+"];
    });
    expect(errorOf(checkDeviceHeartbeat, hdr)).toBe(
      "capabilities.hdr_support[0]: expected one of HDR10, Dolby_Vision, HLG",
    );
  });

  it("ranges (DEVIATIONS 11)", () => {
    const battery = with_(SPEC_3_3_HEARTBEAT, (v) => {
      v.battery_level = 1.5;
    });
    expect(errorOf(checkDeviceHeartbeat, battery)).toBe(
      "battery_level: expected a number from 0 to 1, got 1.5",
    );
    const quality = with_(SPEC_3_3_HEARTBEAT, (v) => {
      v.network_quality = 0;
    });
    expect(errorOf(checkDeviceHeartbeat, quality)).toMatch(
      /^network_quality: expected an integer from 1 to 5/,
    );
    const fractional = with_(SPEC_3_3_HEARTBEAT, (v) => {
      v.network_quality = 4.5;
    });
    expect(errorOf(checkDeviceHeartbeat, fractional)).toMatch(/^network_quality: /);
    const screen = with_(SPEC_6_1_DEVICE_JOIN, (v) => {
      (v.capabilities as Record<string, unknown>).screen_size = -3;
    });
    expect(errorOf(checkDeviceJoin, screen)).toMatch(/^capabilities\.screen_size: expected a number from 0/);
  });

  it("heartbeat_interval is optional, 1..3600, and an absent one stays absent", () => {
    const join = valid(checkDeviceJoin, JSON.parse(SPEC_6_1_DEVICE_JOIN));
    expect("heartbeat_interval" in join).toBe(false);
    const announced = with_(SPEC_3_3_HEARTBEAT, (v) => {
      v.heartbeat_interval = 300;
    });
    expect(valid(checkDeviceHeartbeat, announced).heartbeat_interval).toBe(300);
    for (const bad of [0, 3601, 30.5, "30", null]) {
      const message = with_(SPEC_6_1_DEVICE_JOIN, (v) => {
        v.heartbeat_interval = bad;
      });
      expect(errorOf(checkDeviceJoin, message)).toMatch(/^heartbeat_interval: expected an integer/);
    }
  });

  it("spec Option fields may be absent or null, both meaning none, and stay as sent", () => {
    const missing = with_(SPEC_3_3_HEARTBEAT, (v) => {
      delete v.battery_level;
      delete (v.capabilities as Record<string, unknown>).screen_size;
    });
    const parsed = valid(checkDeviceHeartbeat, missing);
    expect("battery_level" in parsed).toBe(false);
    expect("screen_size" in parsed.capabilities).toBe(false);
    const audioOnly = with_(SPEC_3_3_HEARTBEAT, (v) => {
      (v.capabilities as Record<string, unknown>).screen_size = null;
    });
    expect(valid(checkDeviceHeartbeat, audioOnly).capabilities.screen_size).toBeNull();
    const badBattery = with_(SPEC_3_3_HEARTBEAT, (v) => {
      v.battery_level = 1.5;
    });
    expect(errorOf(checkDeviceHeartbeat, badBattery)).toBe(
      "battery_level: expected a number from 0 to 1, got 1.5",
    );
  });

  it("wrong msg_type, enum spellings and unknown fields", () => {
    const wrong = with_(SPEC_6_1_DEVICE_JOIN, (v) => {
      v.msg_type = "device_heartbeat";
    });
    expect(errorOf(checkDeviceJoin, wrong)).toBe('msg_type: expected "device_join"');
    const platform = with_(SPEC_6_1_DEVICE_JOIN, (v) => {
      v.platform = "tizen";
    });
    expect(errorOf(checkDeviceJoin, platform)).toBe(
      "platform: expected one of Tizen, webOS, iOS, Android, Web",
    );
    const extra = with_(SPEC_6_1_DEVICE_JOIN, (v) => {
      v.future_field = { x: 1 };
    });
    expect("future_field" in valid(checkDeviceJoin, extra)).toBe(false);
  });

  it("device_leave: small, reason optional and forward compatible", () => {
    const leave = { msg_type: "device_leave", device_id: "tv-1", timestamp: 1733500800000000 };
    expect(valid(checkDeviceLeave, leave)).toEqual(leave);
    expect(valid(checkDeviceLeave, { ...leave, reason: "user_exit" }).reason).toBe("user_exit");
    expect(valid(checkDeviceLeave, { ...leave, reason: "some_future_reason" }).reason).toBe(
      "some_future_reason",
    );
    expect(errorOf(checkDeviceLeave, { ...leave, reason: "has space" })).toMatch(/^reason: expected an id/);
    expect(errorOf(checkDeviceLeave, { ...leave, timestamp: -1 })).toMatch(/^timestamp: /);
  });
});

describe("remote_command", () => {
  const base = JSON.parse(SPEC_3_4_REMOTE_COMMAND) as Record<string, unknown>;

  it("accepts every variant in serde's adjacently tagged form", () => {
    const commands = [
      { type: "Play" },
      { type: "Pause" },
      { type: "Stop" },
      { type: "Seek", params: { position_seconds: 120 } },
      { type: "VolumeSet", params: { level: 0.5 } },
      { type: "VolumeMute" },
      { type: "VolumeUnmute" },
      { type: "LoadContent", params: { content_id: "tmdb:550", start_position: null } },
      { type: "LoadContent", params: { content_id: "tmdb:550" } },
      { type: "SwitchProfile", params: { profile_id: "kids" } },
      { type: "CastTo", params: { target_device_id: "tv-1", content_id: "tmdb:550" } },
    ];
    for (const command of commands) expect(valid(checkRemoteCommand, command)).toEqual(command);
  });

  it('unit variants tolerate "params": null (dropped), and reject any other params', () => {
    expect(valid(checkRemoteCommand, { type: "Play", params: null })).toEqual({ type: "Play" });
    expect(errorOf(checkRemoteCommand, { type: "Pause", params: {} })).toBe(
      "params: expected no params (or null) for Pause",
    );
  });

  it("names the variant's own fields in errors", () => {
    expect(errorOf(checkRemoteCommand, { type: "Seek", params: { position_seconds: -5 } })).toMatch(
      /^params\.position_seconds: expected an integer from 0 to 4294967295/,
    );
    expect(errorOf(checkRemoteCommand, { type: "VolumeSet", params: { level: 2 } })).toBe(
      "params.level: expected a number from 0 to 1, got 2",
    );
    expect(errorOf(checkRemoteCommand, { type: "Seek" })).toBe("params: is required");
    expect(errorOf(checkRemoteCommand, { type: "Rewind" })).toBe(
      "type: expected one of Play, Pause, Stop, Seek, VolumeSet, VolumeMute, VolumeUnmute, LoadContent, SwitchProfile, CastTo",
    );
    expect(errorOf(checkRemoteCommandMessage, { ...base, command: { type: "CastTo", params: {} } })).toBe(
      "command.params.target_device_id: is required",
    );
  });

  it("expires_at is at least timestamp and at most 60 s after it", () => {
    expect(valid(checkRemoteCommandMessage, { ...base, expires_at: base.timestamp }).expires_at).toBe(
      base.timestamp,
    );
    expect(errorOf(checkRemoteCommandMessage, { ...base, expires_at: 1733500799999999 })).toBe(
      "expires_at: expected at least timestamp (1733500800000000), got 1733500799999999",
    );
    const limit = 1733500800000000 + MAX_COMMAND_TTL_MS * 1000;
    expect(valid(checkRemoteCommandMessage, { ...base, expires_at: limit }).expires_at).toBe(limit);
    expect(errorOf(checkRemoteCommandMessage, { ...base, expires_at: limit + 1 })).toMatch(
      /^expires_at: expected at most 60000 ms after timestamp/,
    );
  });

  it("command_id is optional; the default is source:timestamp", () => {
    const message = valid(checkRemoteCommandMessage, base);
    expect("command_id" in message).toBe(false);
    expect(commandIdOf(message)).toBe("phone-ios-alice:1733500800000000");
    expect(commandIdOf(valid(checkRemoteCommandMessage, { ...base, command_id: "cmd-7" }))).toBe("cmd-7");
    expect(errorOf(checkRemoteCommandMessage, { ...base, command_id: "" })).toBe(
      "command_id: expected a non-empty string",
    );
  });
});

describe("presence messages", () => {
  it("DeviceActivity is externally tagged, as serde writes it", () => {
    expect(valid(checkDeviceActivity, "Idle")).toBe("Idle");
    expect(valid(checkDeviceActivity, "Browsing")).toBe("Browsing");
    expect(valid(checkDeviceActivity, { Watching: { content_id: "tmdb:550" } })).toEqual({
      Watching: { content_id: "tmdb:550" },
    });
    expect(errorOf(checkDeviceActivity, { Watching: { content_id: "tmdb:550" }, Paused: {} })).toMatch(
      /^expected one of Idle, Browsing, \{ "Watching": … \}, \{ "Paused": … \}/,
    );
    expect(errorOf(checkDeviceActivity, { Paused: {} })).toBe("Paused.content_id: is required");
    expect(errorOf(checkDeviceActivity, "Watching")).toMatch(/^expected one of /);
  });

  it("activity helpers", () => {
    expect(activityContentId("Idle")).toBeNull();
    expect(activityContentId({ Paused: { content_id: "x" } })).toBe("x");
    expect(activityContentId({ Watching: { content_id: "y" } })).toBe("y");
    expect(activityEquals({ Watching: { content_id: "y" } }, { Watching: { content_id: "y" } })).toBe(true);
    expect(activityEquals({ Watching: { content_id: "y" } }, { Paused: { content_id: "y" } })).toBe(false);
    expect(activityEquals("Idle", { Paused: { content_id: "y" } })).toBe(false);
    expect(activityEquals("Idle", "Idle")).toBe(true);
  });

  it("presence_event: state required on state-change, optional on join, dropped on leave", () => {
    const state = {
      device_type: "TV",
      activity: { Watching: { content_id: "tmdb:550" } },
      last_update: 1733500800000000,
      app_version: "1.2.3",
    };
    const event = {
      msg_type: "presence_event",
      device_id: "tv-1",
      occupancy: 2,
      timestamp: 1733500800000000,
    };
    expect(valid(checkPresenceEvent, { ...event, action: "join" })).toEqual({ ...event, action: "join" });
    expect(valid(checkPresenceEvent, { ...event, action: "join", state })).toEqual({
      ...event,
      action: "join",
      state,
    });
    expect(valid(checkPresenceEvent, { ...event, action: "state-change", state }).action).toBe(
      "state-change",
    );
    expect(errorOf(checkPresenceEvent, { ...event, action: "state-change" })).toBe("state: is required");
    expect("state" in valid(checkPresenceEvent, { ...event, action: "leave", state })).toBe(false);
    expect(errorOf(checkPresenceEvent, { ...event, action: "interval" })).toBe(
      "action: expected one of join, leave, timeout, state-change",
    );
    expect(errorOf(checkPresenceEvent, { ...event, action: "timeout", occupancy: -1 })).toMatch(
      /^occupancy: /,
    );
    expect(
      errorOf(checkPresenceEvent, { ...event, action: "join", state: { ...state, activity: "Sleeping" } }),
    ).toMatch(/^state\.activity: expected one of Idle, Browsing/);
    expect(valid(checkDevicePresenceState, state)).toEqual(state);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const families: readonly [string, Check<unknown>, fc.Arbitrary<unknown>][] = [
  ["capabilities", checkDeviceCapabilities, deviceCapabilitiesArbitrary()],
  ["device_join", checkDeviceJoin, deviceJoinArbitrary()],
  ["device_heartbeat", checkDeviceHeartbeat, deviceHeartbeatArbitrary()],
  ["device_leave", checkDeviceLeave, deviceLeaveArbitrary()],
  ["RemoteCommand", checkRemoteCommand, remoteCommandArbitrary()],
  ["remote_command", checkRemoteCommandMessage, remoteCommandMessageArbitrary()],
  ["DeviceActivity", checkDeviceActivity, deviceActivityArbitrary()],
  ["DevicePresenceState", checkDevicePresenceState, devicePresenceStateArbitrary()],
  ["presence_event", checkPresenceEvent, presenceEventArbitrary()],
];

/** Every path to a value inside a JSON value (root excluded), with the value there. */
function paths(value: unknown, prefix: PathSegment[] = []): PathSegment[][] {
  const out: PathSegment[][] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push([...prefix, i], ...paths(item, [...prefix, i]));
    });
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value))
      out.push([...prefix, key], ...paths(item, [...prefix, key]));
  }
  return out;
}

/** A deep copy with the value at `path` replaced (`undefined` deletes the key). */
function replaced(value: unknown, path: readonly PathSegment[], replacement: unknown): unknown {
  const copy = structuredClone(value);
  let parent = copy as Record<PathSegment, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<PathSegment, unknown>;
  const last = path[path.length - 1]!;
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** One is the other or an ancestor of it (`capabilities` vs `capabilities.max_resolution`). */
function related(a: string, b: string): boolean {
  const isPrefix = (p: string, q: string) =>
    p === "" || q === p || q.startsWith(`${p}.`) || q.startsWith(`${p}[`);
  return isPrefix(a, b) || isPrefix(b, a);
}

const corruption = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(
    undefined,
    null,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -1,
    0.5,
    2 ** 53,
    "",
    " ",
    "x".repeat(300),
    [],
    {},
    true,
    "UHD_4K",
    "Idle",
    { Watching: {} },
    { type: "Play" },
  ),
);

describe("properties", () => {
  for (const [name, check, arbitrary] of families) {
    it(`${name}: generated values validate and survive a JSON round trip`, () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          expect(valid(check, value)).toEqual(value);
          const wire = JSON.parse(JSON.stringify(value)) as unknown;
          expect(valid(check, wire)).toEqual(value);
        }),
      );
    });

    it(`${name}: any single-field corruption is valid or rejected with a related path, never thrown`, () => {
      fc.assert(
        fc.property(arbitrary, fc.nat(), corruption, (value, pick, bad) => {
          const all = paths(value);
          fc.pre(all.length > 0);
          const path = all[pick % all.length]!;
          const input = replaced(value, path, bad);
          const result = parseWith(check, input); // must not throw
          if (!result.ok) {
            expect(result.error.reason.length).toBeGreaterThan(0);
            const where = formatPath(path);
            // expires_at is cross-checked against timestamp, so either may be named for the other.
            const crossField = result.error.path === "expires_at" && where === "timestamp";
            expect(related(result.error.path, where) || crossField).toBe(true);
          }
        }),
      );
    });
  }

  it("root-level garbage is rejected, never thrown", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        for (const [, check] of families) parseWith(check, input);
      }),
      { numRuns: 50 },
    );
  });
});
