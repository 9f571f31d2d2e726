import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  DeviceCapabilities,
  DeviceHeartbeatMessage,
  DeviceJoinMessage,
} from "../src/messages/devices.js";
import type { DevicePresenceState, PresenceEventMessage } from "../src/messages/presence.js";
import {
  type PresenceInput,
  type PresenceTracker,
  type PresenceUpdate,
  presenceApply,
  presenceEmpty,
  presenceTick,
} from "../src/presence.js";

const CAPS: DeviceCapabilities = {
  max_resolution: "UHD_4K",
  audio_codecs: ["AAC", "Dolby_Atmos"],
  hdr_support: ["HDR10", "Dolby_Vision"],
  remote_controllable: true,
  can_cast: false,
  screen_size: 65,
};

const T0 = 1_733_500_800_000; // ms

function join(deviceId: string, timestamp: number, heartbeatInterval?: number): DeviceJoinMessage {
  return {
    msg_type: "device_join",
    device_id: deviceId,
    device_type: "TV",
    platform: "Tizen",
    app_version: "1.2.3",
    capabilities: CAPS,
    timestamp,
    initial_sync_required: false,
    ...(heartbeatInterval === undefined ? {} : { heartbeat_interval: heartbeatInterval }),
  };
}

function heartbeat(deviceId: string, lastActive: number, heartbeatInterval?: number): DeviceHeartbeatMessage {
  return {
    msg_type: "device_heartbeat",
    device_id: deviceId,
    device_type: "Phone",
    capabilities: { ...CAPS, can_cast: true, screen_size: 6.1 },
    app_version: "2.0.0",
    platform: "iOS",
    last_active: lastActive,
    battery_level: 0.8,
    network_quality: 4,
    ...(heartbeatInterval === undefined ? {} : { heartbeat_interval: heartbeatInterval }),
  };
}

const leave = (deviceId: string, timestamp: number): PresenceInput => ({
  msg_type: "device_leave",
  device_id: deviceId,
  timestamp,
});

function transport(action: "join" | "leave" | "timeout", deviceId: string): PresenceEventMessage {
  return { msg_type: "presence_event", action, device_id: deviceId, occupancy: 99, timestamp: 1 };
}

function state(activity: DevicePresenceState["activity"], lastUpdate: number): DevicePresenceState {
  return { device_type: "TV", activity, last_update: lastUpdate, app_version: "1.2.3" };
}

/** Applies inputs in order, each at its own time, collecting every event. */
function run(steps: readonly [PresenceInput | "tick", number][], start = presenceEmpty()): PresenceUpdate {
  let tracker = start;
  const events: PresenceEventMessage[] = [];
  for (const [input, nowMs] of steps) {
    const update = input === "tick" ? presenceTick(tracker, nowMs) : presenceApply(tracker, input, nowMs);
    tracker = update.tracker;
    events.push(...update.events);
  }
  return { tracker, events };
}

const actions = (events: readonly PresenceEventMessage[]) => events.map((e) => `${e.action}:${e.device_id}`);

describe("join and occupancy", () => {
  it("an empty tracker ticks without allocating", () => {
    const empty = presenceEmpty();
    const update = presenceTick(empty, T0);
    expect(update.tracker).toBe(empty);
    expect(update.events).toEqual([]);
    expect(empty.occupancy).toBe(0);
  });

  it("a join makes the device online and emits one join event, stamped with nowMs", () => {
    const { tracker, events } = presenceApply(presenceEmpty(), join("tv", 5), T0);
    expect(events).toEqual([
      { msg_type: "presence_event", action: "join", device_id: "tv", occupancy: 1, timestamp: T0 * 1000 },
    ]);
    const tv = tracker.devices.get("tv")!;
    expect(tv).toMatchObject({
      online: true,
      deviceType: "TV",
      platform: "Tizen",
      appVersion: "1.2.3",
      capabilities: CAPS,
      activity: "Idle",
      currentContent: null,
      heartbeatIntervalSec: 30,
      lastSeenMs: T0,
    });
    expect(tracker.occupancy).toBe(1);
  });

  it("duplicates emit nothing the second time", () => {
    const { events } = run([
      [join("tv", 5), T0],
      [join("tv", 5), T0 + 1],
      [heartbeat("tv", 6), T0 + 2],
      [leave("tv", 10), T0 + 3],
      [leave("tv", 10), T0 + 4],
    ]);
    expect(actions(events)).toEqual(["join:tv", "leave:tv"]);
  });

  it("counts occupancy over several devices", () => {
    const { tracker, events } = run([
      [join("tv", 5), T0],
      [heartbeat("phone", 7), T0 + 10],
      [join("web", 1), T0 + 20],
      [leave("phone", 8), T0 + 30],
    ]);
    expect(tracker.occupancy).toBe(2);
    expect(events.map((e) => e.occupancy)).toEqual([1, 2, 3, 2]);
    expect([...tracker.devices.values()].filter((d) => d.online).map((d) => d.deviceId)).toEqual([
      "tv",
      "web",
    ]);
  });

  it("exposes what a heartbeat says", () => {
    const { tracker } = presenceApply(presenceEmpty(), heartbeat("phone", 7), T0);
    expect(tracker.devices.get("phone")).toMatchObject({
      online: true,
      deviceType: "Phone",
      platform: "iOS",
      appVersion: "2.0.0",
      capabilities: { can_cast: true, screen_size: 6.1 },
      batteryLevel: 0.8,
      networkQuality: 4,
      aliveAt: 7,
    });
  });

  it("never mutates the tracker it is given", () => {
    const before = presenceApply(presenceEmpty(), join("tv", 5), T0).tracker;
    const snapshot = structuredClone([...before.devices.entries()]);
    presenceApply(before, leave("tv", 9), T0 + 1);
    presenceApply(before, join("phone", 9), T0 + 1);
    presenceTick(before, T0 + 10 * 60_000);
    expect([...before.devices.entries()]).toEqual(snapshot);
    expect(before.occupancy).toBe(1);
  });
});

describe("timeouts: two of the device's own intervals (DEVIATIONS 7)", () => {
  it("offline at exactly two intervals, not a millisecond before, with one timeout event", () => {
    const joined = presenceApply(presenceEmpty(), join("tv", 5), T0).tracker;
    expect(joined.nextOfflineAtMs).toBe(T0 + 60_000);
    const before = presenceTick(joined, T0 + 59_999);
    expect(before.tracker).toBe(joined);
    expect(before.events).toEqual([]);
    const at = presenceTick(joined, T0 + 60_000);
    expect(at.events).toEqual([
      {
        msg_type: "presence_event",
        action: "timeout",
        device_id: "tv",
        occupancy: 0,
        timestamp: (T0 + 60_000) * 1000,
      },
    ]);
    expect(at.tracker.devices.get("tv")).toMatchObject({ online: false, lastSeenMs: T0 });
    expect(at.tracker.occupancy).toBe(0);
    expect(presenceTick(at.tracker, T0 + 120_000).events).toEqual([]);
  });

  it("each heartbeat pushes the deadline to two intervals after it", () => {
    const { tracker, events } = run([
      [join("tv", 5), T0],
      [heartbeat("tv", 6), T0 + 30_000],
      ["tick", T0 + 89_999],
    ]);
    expect(events.map((e) => e.action)).toEqual(["join"]);
    expect(tracker.devices.get("tv")!.online).toBe(true);
    expect(presenceTick(tracker, T0 + 90_000).events.map((e) => e.action)).toEqual(["timeout"]);
  });

  it("a device announcing 300 s stays online at 120 s and until 600 s", () => {
    const joined = presenceApply(presenceEmpty(), join("tv", 5, 300), T0).tracker;
    expect(presenceTick(joined, T0 + 120_000).tracker.devices.get("tv")!.online).toBe(true);
    expect(presenceTick(joined, T0 + 599_999).events).toEqual([]);
    expect(presenceTick(joined, T0 + 600_000).events.map((e) => e.action)).toEqual(["timeout"]);
  });

  it("backgrounding: a heartbeat announcing 300 s keeps it, and later heartbeats without the field keep 300", () => {
    const { tracker } = run([
      [join("phone", 5), T0],
      [heartbeat("phone", 6, 300), T0 + 30_000],
      [heartbeat("phone", 7), T0 + 330_000],
      ["tick", T0 + 330_000 + 599_999],
    ]);
    const phone = tracker.devices.get("phone")!;
    expect(phone).toMatchObject({ online: true, heartbeatIntervalSec: 300 });
    expect(phone.offlineAtMs).toBe(T0 + 330_000 + 600_000);
  });

  it("a new join starts a session: an unannounced interval is 30 s again", () => {
    const { tracker } = run([
      [join("phone", 5, 300), T0],
      [join("phone", 50), T0 + 1000],
    ]);
    expect(tracker.devices.get("phone")!.heartbeatIntervalSec).toBe(30);
    expect(tracker.nextOfflineAtMs).toBe(T0 + 1000 + 60_000);
  });

  it("times several devices out in deadline order, occupancy counting down", () => {
    const { tracker } = run([
      [join("b", 1, 10), T0],
      [join("a", 1, 20), T0],
      [join("c", 1, 10), T0],
    ]);
    const { events } = presenceTick(tracker, T0 + 3_600_000);
    expect(events.map((e) => [e.device_id, e.occupancy])).toEqual([
      ["b", 2],
      ["c", 1],
      ["a", 0],
    ]);
  });

  it("presenceApply ticks first, so a late message sees an expired device as offline", () => {
    const joined = presenceApply(presenceEmpty(), join("tv", 5), T0).tracker;
    const { events } = presenceApply(joined, heartbeat("tv", 6), T0 + 61_000);
    expect(actions(events)).toEqual(["timeout:tv", "join:tv"]);
  });

  it("a transport timeout never takes a device offline before its own deadline", () => {
    const joined = presenceApply(presenceEmpty(), join("tv", 5, 300), T0).tracker;
    const update = presenceApply(joined, transport("timeout", "tv"), T0 + 60_000);
    expect(update.events).toEqual([]);
    expect(update.tracker.devices.get("tv")!.online).toBe(true);
  });
});

describe("graceful leave (spec 8.2) and stale messages", () => {
  it("a leave is immediate, and no timeout follows", () => {
    const { tracker, events } = run([
      [join("tv", 5), T0],
      [leave("tv", 9), T0 + 1000],
      ["tick", T0 + 3_600_000],
    ]);
    expect(actions(events)).toEqual(["join:tv", "leave:tv"]);
    expect(tracker.devices.get("tv")).toMatchObject({ online: false, lastSeenMs: T0 + 1000, leftAt: 9 });
    expect(tracker.nextOfflineAtMs).toBe(Number.POSITIVE_INFINITY);
  });

  it("a transport leave is immediate too; a transport join brings it back", () => {
    const { tracker, events } = run([
      [join("tv", 5), T0],
      [transport("leave", "tv"), T0 + 1],
      [transport("join", "tv"), T0 + 2],
    ]);
    expect(actions(events)).toEqual(["join:tv", "leave:tv", "join:tv"]);
    expect(tracker.occupancy).toBe(1);
  });

  it("a redelivered leave older than a rejoin is ignored", () => {
    const { tracker, events } = run([
      [join("tv", 5), T0],
      [leave("tv", 10), T0 + 1],
      [join("tv", 20), T0 + 2],
      [leave("tv", 10), T0 + 3],
    ]);
    expect(actions(events)).toEqual(["join:tv", "leave:tv", "join:tv"]);
    expect(tracker.devices.get("tv")!.online).toBe(true);
  });

  it("a join or heartbeat no later than an unanswered leave does not resurrect the device", () => {
    const left = run([
      [join("tv", 5), T0],
      [heartbeat("tv", 8), T0 + 1],
      [leave("tv", 10), T0 + 2],
    ]).tracker;
    expect(presenceApply(left, join("tv", 5), T0 + 3).events).toEqual([]);
    expect(presenceApply(left, heartbeat("tv", 8), T0 + 3).events).toEqual([]);
    expect(actions(presenceApply(left, heartbeat("tv", 11), T0 + 3).events)).toEqual(["join:tv"]);
  });

  it("a leave of a device never seen is ignored", () => {
    const empty = presenceEmpty();
    expect(presenceApply(empty, leave("ghost", 1), T0).tracker).toBe(empty);
    expect(presenceApply(empty, transport("leave", "ghost"), T0).tracker).toBe(empty);
  });
});

describe("presence state (spec 8.1)", () => {
  it("a state change sets activity and current content and emits a state-change", () => {
    const watching = state({ Watching: { content_id: "tmdb:550" } }, 100);
    const { tracker, events } = run([
      [join("tv", 5), T0],
      [{ kind: "set_state", device_id: "tv", state: watching }, T0 + 1],
    ]);
    expect(events[1]).toEqual({
      msg_type: "presence_event",
      action: "state-change",
      device_id: "tv",
      occupancy: 1,
      timestamp: (T0 + 1) * 1000,
      state: watching,
    });
    expect(tracker.devices.get("tv")).toMatchObject({
      activity: { Watching: { content_id: "tmdb:550" } },
      currentContent: "tmdb:550",
      stateUpdatedAt: 100,
    });
    const paused = presenceApply(
      tracker,
      {
        ...transport("join", "tv"),
        action: "state-change",
        state: state({ Paused: { content_id: "tmdb:550" } }, 101),
      },
      T0 + 2,
    );
    expect(paused.tracker.devices.get("tv")!.currentContent).toBe("tmdb:550");
    const idle = presenceApply(
      paused.tracker,
      { kind: "set_state", device_id: "tv", state: state("Idle", 102) },
      T0 + 3,
    );
    expect(idle.tracker.devices.get("tv")!.currentContent).toBeNull();
    expect(idle.events.map((e) => e.action)).toEqual(["state-change"]);
  });

  it("last writer wins on last_update; an equal state emits nothing", () => {
    const first = presenceApply(
      presenceEmpty(),
      { kind: "set_state", device_id: "tv", state: state("Browsing", 100) },
      T0,
    );
    const stale = presenceApply(
      first.tracker,
      { kind: "set_state", device_id: "tv", state: state("Idle", 99) },
      T0,
    );
    expect(stale.tracker).toBe(first.tracker);
    expect(stale.events).toEqual([]);
    const same = presenceApply(
      first.tracker,
      { kind: "set_state", device_id: "tv", state: state("Browsing", 101) },
      T0,
    );
    expect(same.events).toEqual([]);
    expect(same.tracker.devices.get("tv")!.stateUpdatedAt).toBe(101);
  });

  it("state never changes liveness; an unknown device's state is kept offline", () => {
    const { tracker } = presenceApply(
      presenceEmpty(),
      { kind: "set_state", device_id: "tv", state: state("Browsing", 100) },
      T0,
    );
    expect(tracker.devices.get("tv")).toMatchObject({ online: false, lastSeenMs: null, deviceType: "TV" });
    expect(tracker.occupancy).toBe(0);
  });

  it("a transport join may carry state", () => {
    const { events, tracker } = presenceApply(
      presenceEmpty(),
      { ...transport("join", "tv"), state: state("Browsing", 100) },
      T0,
    );
    expect(actions(events)).toEqual(["join:tv", "state-change:tv"]);
    expect(tracker.devices.get("tv")!.activity).toBe("Browsing");
  });
});

it("rejects a nonsense nowMs as misuse", () => {
  expect(() => presenceTick(presenceEmpty(), Number.NaN)).toThrow(RangeError);
  expect(() => presenceApply(presenceEmpty(), join("tv", 1), -1)).toThrow(RangeError);
  expect(() => presenceTick(presenceEmpty(), Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
});

// ---------------------------------------------------------------------------------------------

describe("model properties", () => {
  const DEVICES = ["tv", "phone", "web"];
  const step = fc.record({
    advanceMs: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 700_000 })),
    ownTs: fc.integer({ min: 0, max: 40 }),
    device: fc.constantFrom(...DEVICES),
    interval: fc.option(fc.constantFrom(1, 30, 300), { nil: undefined }),
    kind: fc.constantFrom("join", "heartbeat", "leave", "tjoin", "tleave", "ttimeout", "state", "tick"),
  });

  type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

  function input(s: Step): PresenceInput | "tick" {
    switch (s.kind) {
      case "join":
        return join(s.device, s.ownTs, s.interval);
      case "heartbeat":
        return heartbeat(s.device, s.ownTs, s.interval);
      case "leave":
        return leave(s.device, s.ownTs);
      case "tjoin":
        return transport("join", s.device);
      case "tleave":
        return transport("leave", s.device);
      case "ttimeout":
        return transport("timeout", s.device);
      case "state":
        return { kind: "set_state", device_id: s.device, state: state("Browsing", s.ownTs) };
      default:
        return "tick";
    }
  }

  const online = (t: PresenceTracker) =>
    new Set([...t.devices.values()].filter((d) => d.online).map((d) => d.deviceId));

  it("occupancy, deadlines and events match the online flags at every step", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let tracker = presenceEmpty();
        let now = T0;
        for (const s of steps) {
          now += s.advanceMs;
          const before = online(tracker);
          const i = input(s);
          const { tracker: next, events } =
            i === "tick" ? presenceTick(tracker, now) : presenceApply(tracker, i, now);
          const after = online(next);
          // Occupancy is the number of online devices.
          expect(next.occupancy).toBe(after.size);
          // No online device is past its two own intervals; the next deadline is the earliest one.
          let earliest = Number.POSITIVE_INFINITY;
          for (const d of next.devices.values()) {
            if (!d.online) continue;
            expect(d.offlineAtMs).toBe(d.lastSeenMs! + 2 * d.heartbeatIntervalSec * 1000);
            expect(now).toBeLessThan(d.offlineAtMs);
            earliest = Math.min(earliest, d.offlineAtMs);
          }
          expect(next.nextOfflineAtMs).toBe(earliest);
          // Each online/offline transition emits exactly one event; nothing else does, except
          // state-change. (A device may time out and rejoin in one apply: two events.)
          const wentOffline = events.filter((e) => e.action === "leave" || e.action === "timeout");
          const cameOnline = events.filter((e) => e.action === "join");
          for (const e of wentOffline) expect(before.has(e.device_id)).toBe(true);
          for (const id of before) {
            if (!after.has(id)) expect(wentOffline.filter((e) => e.device_id === id)).toHaveLength(1);
          }
          for (const id of after) {
            const joins = cameOnline.filter((e) => e.device_id === id).length;
            const offs = wentOffline.filter((e) => e.device_id === id).length;
            expect(joins).toBe(before.has(id) ? offs : 1);
          }
          for (const e of cameOnline) expect(after.has(e.device_id) || wentOffline.length > 0).toBe(true);
          // Each event's occupancy is the count right after it.
          let count = before.size;
          for (const e of events) {
            if (e.action === "join") count++;
            else if (e.action === "leave" || e.action === "timeout") count--;
            expect(e.occupancy).toBe(count);
          }
          expect(count).toBe(after.size);
          tracker = next;
        }
      }),
    );
  });

  it("replaying the same input at the same time changes nothing and emits nothing", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        let tracker = presenceEmpty();
        let now = T0;
        for (const s of steps) {
          now += s.advanceMs;
          const i = input(s);
          if (i === "tick") continue;
          tracker = presenceApply(tracker, i, now).tracker;
          const again = presenceApply(tracker, i, now);
          expect(again.events).toEqual([]);
          expect(again.tracker.occupancy).toBe(tracker.occupancy);
          expect([...again.tracker.devices.values()]).toEqual([...tracker.devices.values()]);
        }
      }),
    );
  });
});
