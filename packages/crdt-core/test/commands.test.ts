import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CommandTarget,
  commandDedupAdd,
  commandDedupEmpty,
  commandDedupHas,
  DEFAULT_COMMAND_DEDUP_CAPACITY,
  validateCommand,
} from "../src/commands.js";
import { hlcReceive } from "../src/hlc.js";
import { commandIdOf, type RemoteCommand, type RemoteCommandMessage } from "../src/messages/commands.js";
import type { DeviceCapabilities } from "../src/messages/devices.js";
import { presenceApply, presenceEmpty } from "../src/presence.js";
import { remoteCommandArbitrary, remoteCommandMessageArbitrary } from "../src/testing/device-arbitraries.js";

const CAPS: DeviceCapabilities = {
  max_resolution: "UHD_4K",
  audio_codecs: ["AAC"],
  hdr_support: [],
  remote_controllable: true,
  can_cast: true,
  screen_size: 65,
};

const TV: CommandTarget = { deviceId: "tv", online: true, capabilities: CAPS, currentContent: "tmdb:550" };

const TS = 1_733_500_800_000_000;

function command(cmd: RemoteCommand, overrides: Partial<RemoteCommandMessage> = {}): RemoteCommandMessage {
  return {
    msg_type: "remote_command",
    target_device_id: "tv",
    source_device_id: "phone",
    command: cmd,
    timestamp: TS,
    expires_at: TS + 5_000_000,
    ...overrides,
  };
}

const PLAY: RemoteCommand = { type: "Play" };
const SEEK: RemoteCommand = { type: "Seek", params: { position_seconds: 60 } };
const CAST: RemoteCommand = { type: "CastTo", params: { target_device_id: "tv-2", content_id: "tmdb:550" } };

function reason(c: RemoteCommandMessage, target: CommandTarget | undefined = TV, hlc = TS + 1): string {
  const verdict = validateCommand(c, target, hlc, commandDedupEmpty());
  return verdict.ok ? "ok" : verdict.reason;
}

describe("accepts", () => {
  it("every command on an online, controllable, casting device with content loaded", () => {
    fc.assert(
      fc.property(remoteCommandArbitrary(), (cmd) => {
        const verdict = validateCommand(command(cmd), TV, TS + 1, commandDedupEmpty());
        expect(verdict.ok).toBe(true);
        expect(verdict.commandId).toBe("phone:1733500800000000");
        expect(commandDedupHas(verdict.seen, verdict.commandId)).toBe(true);
      }),
    );
  });

  it("everything but Seek and CastTo without content or casting", () => {
    const plain: CommandTarget = { ...TV, currentContent: null, capabilities: { ...CAPS, can_cast: false } };
    fc.assert(
      fc.property(remoteCommandArbitrary(), (cmd) => {
        fc.pre(cmd.type !== "Seek" && cmd.type !== "CastTo");
        expect(reason(command(cmd), plain)).toBe("ok");
      }),
    );
  });

  it("at the expiry instant (spec 6.3 rejects only expires_at < now)", () => {
    expect(reason(command(PLAY), TV, TS + 5_000_000)).toBe("ok");
  });

  it("a target built by the presence tracker", () => {
    const { tracker } = presenceApply(
      presenceEmpty(),
      {
        msg_type: "device_join",
        device_id: "tv",
        device_type: "TV",
        platform: "Tizen",
        app_version: "1.2.3",
        capabilities: CAPS,
        timestamp: 1,
        initial_sync_required: false,
      },
      1_733_500_800_000,
    );
    expect(reason(command(PLAY), tracker.devices.get("tv"))).toBe("ok");
    expect(reason(command(SEEK), tracker.devices.get("tv"))).toBe("no_active_content");
  });
});

describe("rejects, with a typed reason", () => {
  it("expired: judged on the receiver's HLC after receiving the command (DEVIATIONS 8)", () => {
    const c = command(PLAY);
    // A receiver whose wall clock lags 10 s would still run it by its own clock; its HLC,
    // having received the command's timestamp, is past the timestamp, and 6 s later past expiry.
    const lagging = 1_733_500_790_000;
    const hlc = hlcReceive(0, c.timestamp, lagging);
    expect(hlc).toBeGreaterThan(c.timestamp);
    expect(reason(c, TV, hlc)).toBe("ok");
    expect(reason(c, TV, TS + 5_000_001)).toBe("expired");
    expect(reason(command(PLAY, { expires_at: TS }), TV, hlc)).toBe("expired");
  });

  it("device_offline, also for an unknown target", () => {
    expect(reason(command(PLAY), { ...TV, online: false })).toBe("device_offline");
    const verdict = validateCommand(command(PLAY), undefined, TS + 1, commandDedupEmpty());
    expect(verdict).toMatchObject({ ok: false, reason: "device_offline" });
  });

  it("not_supported: not remote controllable, unknown capabilities, or CastTo without can_cast", () => {
    expect(reason(command(PLAY), { ...TV, capabilities: { ...CAPS, remote_controllable: false } })).toBe(
      "not_supported",
    );
    expect(reason(command(PLAY), { ...TV, capabilities: null })).toBe("not_supported");
    expect(reason(command(CAST), { ...TV, capabilities: { ...CAPS, can_cast: false } })).toBe(
      "not_supported",
    );
  });

  it("no_active_content: Seek with nothing playing or paused", () => {
    expect(reason(command(SEEK), { ...TV, currentContent: null })).toBe("no_active_content");
  });

  it("wrong_target, without touching the window", () => {
    const seen = commandDedupEmpty();
    const verdict = validateCommand(command(PLAY, { target_device_id: "phone" }), TV, TS + 1, seen);
    expect(verdict).toMatchObject({ ok: false, reason: "wrong_target" });
    expect(verdict.seen).toBe(seen);
  });

  it("duplicate: a command is decided once, whatever the first verdict", () => {
    const first = validateCommand(command(PLAY), TV, TS + 1, commandDedupEmpty());
    expect(first.ok).toBe(true);
    const again = validateCommand(command(PLAY), TV, TS + 2, first.seen);
    expect(again).toMatchObject({ ok: false, reason: "duplicate" });
    expect(again.seen).toBe(first.seen);
    const rejected = validateCommand(
      command(SEEK, { command_id: "c1" }),
      { ...TV, currentContent: null },
      TS + 1,
      first.seen,
    );
    expect(rejected).toMatchObject({ ok: false, reason: "no_active_content" });
    expect(validateCommand(command(SEEK, { command_id: "c1" }), TV, TS + 1, rejected.seen)).toMatchObject({
      ok: false,
      reason: "duplicate",
    });
  });

  it("the checks run in spec order", () => {
    // Expired beats offline, offline beats unsupported, unsupported beats no content.
    expect(reason(command(SEEK), { ...TV, online: false, currentContent: null }, TS + 9_000_000)).toBe(
      "expired",
    );
    expect(reason(command(SEEK), { ...TV, online: false, capabilities: null })).toBe("device_offline");
    expect(
      reason(command(SEEK), {
        ...TV,
        capabilities: { ...CAPS, remote_controllable: false },
        currentContent: null,
      }),
    ).toBe("not_supported");
  });

  it("misuse throws", () => {
    expect(() => validateCommand(command(PLAY), TV, Number.NaN, commandDedupEmpty())).toThrow(RangeError);
    expect(() => commandDedupEmpty(0)).toThrow(RangeError);
  });
});

describe("dedup window", () => {
  it("remembers at least the last `capacity` ids and holds at most twice that", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.nat(60), { maxLength: 200 }),
        (capacity, ids) => {
          let window = commandDedupEmpty(capacity);
          const order: string[] = [];
          for (const n of ids) {
            const id = `c${n}`;
            const before = window;
            window = commandDedupAdd(window, id);
            if (commandDedupHas(before, id)) expect(window).toBe(before);
            else order.push(id);
            expect(window.newer.size + window.older.size).toBeLessThanOrEqual(2 * capacity);
            expect(window.newer.size).toBeLessThanOrEqual(capacity);
          }
          for (const id of order.slice(-capacity)) expect(commandDedupHas(window, id)).toBe(true);
        },
      ),
    );
  });

  it("forgets the oldest beyond twice the capacity, and never mutates a window", () => {
    let window = commandDedupEmpty(2);
    const first = commandDedupAdd(window, "a");
    window = first;
    for (const id of ["b", "c", "d", "e"]) window = commandDedupAdd(window, id);
    expect(commandDedupHas(window, "a")).toBe(false);
    expect(commandDedupHas(window, "d")).toBe(true);
    expect([...first.newer]).toEqual(["a"]);
  });

  it("default capacity is 1024, bounded over many commands", () => {
    let seen = commandDedupEmpty();
    expect(seen.capacity).toBe(DEFAULT_COMMAND_DEDUP_CAPACITY);
    for (let i = 0; i < 5000; i++) {
      seen = validateCommand(command(PLAY, { timestamp: TS + i, expires_at: TS + i }), TV, TS + i, seen).seen;
    }
    expect(seen.newer.size + seen.older.size).toBeLessThanOrEqual(2 * DEFAULT_COMMAND_DEDUP_CAPACITY);
    expect(commandDedupHas(seen, `phone:${TS + 4999}`)).toBe(true);
    expect(commandDedupHas(seen, `phone:${TS}`)).toBe(false);
  });

  it("generated messages: the first copy is decided, every redelivery is a duplicate", () => {
    fc.assert(
      fc.property(remoteCommandMessageArbitrary({ targetDeviceId: fc.constant("tv") }), (c) => {
        const first = validateCommand(c, TV, c.timestamp + 1, commandDedupEmpty());
        expect(first.commandId).toBe(commandIdOf(c));
        expect(first.ok ? "ok" : first.reason).toBe(c.expires_at < c.timestamp + 1 ? "expired" : "ok");
        const second = validateCommand(c, TV, c.timestamp + 1, first.seen);
        expect(second).toMatchObject({ ok: false, reason: "duplicate" });
      }),
    );
  });
});
