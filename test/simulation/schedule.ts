/**
 * What one simulated run does, as plain data: the network's seed and conditions, how many
 * devices, and a list of steps (operations and faults). fast-check generates and shrinks these;
 * `runSchedule` plays one. A schedule is JSON, so a failing one can be pasted into
 * `regressions.test.ts` and replayed exactly.
 *
 * Two modes, because one thing no implementation can survive is a change that only one device
 * held, published while everybody else was away, trimmed from history, and then forgotten by
 * that device too (restored from a snapshot older than the change): nobody has it any more.
 * - `old-snapshots`: a crashed device comes back from any snapshot it saved earlier (possibly
 *   older than what it already published: the dot-reuse trap of issue 5 §3); history keeps
 *   everything (1 000 messages, 24 h), so whatever was published can still be caught up.
 * - `trimmed-history`: the sync channel keeps only a few messages and 5 minutes, devices stay
 *   away longer than that and must reconcile from each other; a crashed device comes back from
 *   the snapshot it wrote as it died (state, HLC and unacknowledged deltas: nothing forgotten).
 */
import fc from "fast-check";

export const TITLES = ["tmdb:550", "tmdb:13", "tmdb:680", "tmdb:155", "tmdb:27205", "tmdb:603"] as const;
export const PREFERENCE_KEYS = ["subtitles.language", "autoplay", "quality"] as const;
export const PREFERENCE_VALUES = ["en", "fr", true, false, { max: "UHD_4K" }, null] as const;
export const COMMANDS = ["Play", "Pause", "Seek", "VolumeSet", "CastTo"] as const;
/** Longest skew a device's wall clock gets, either way (issue 5 §4: ±30 s). */
export const MAX_SKEW_MS = 30_000;

export type Mode = "old-snapshots" | "trimmed-history";

export type Step =
  | { readonly kind: "add"; readonly device: number; readonly title: number; readonly snippet: number | null }
  | { readonly kind: "remove"; readonly device: number; readonly title: number }
  | {
      readonly kind: "progress";
      readonly device: number;
      readonly title: number;
      readonly position: number;
      readonly state: "Playing" | "Paused" | "Stopped";
    }
  | { readonly kind: "preference"; readonly device: number; readonly key: number; readonly value: number }
  | {
      readonly kind: "command";
      readonly device: number;
      readonly target: number;
      readonly command: number;
      readonly ttlMs: number;
    }
  /** `side[i]`: device i is cut off from the server (with the others cut off) when true. */
  | { readonly kind: "partition"; readonly side: readonly boolean[] }
  | { readonly kind: "heal" }
  | { readonly kind: "disconnect"; readonly device: number }
  | { readonly kind: "reconnect"; readonly device: number }
  /** A short network loss: cut off for `ms`, then back (no goodbye, no new gap in history). */
  | { readonly kind: "blip"; readonly device: number; readonly ms: number }
  /** Cut off, then longer than the sync channel's retention passes (the others carry on later). */
  | { readonly kind: "away-long"; readonly device: number; readonly extraMs: number }
  /**
   * Spec 6.4's moment of truth: back after longer than the history's retention, and within
   * `afterMs` (while reconciling) the device blips, crashes, restarts or carries on.
   */
  | {
      readonly kind: "comeback";
      readonly device: number;
      readonly extraMs: number;
      readonly afterMs: number;
      readonly and: "blip" | "crash" | "restart" | "nothing";
    }
  | { readonly kind: "skew"; readonly device: number; readonly skewMs: number }
  | { readonly kind: "save"; readonly device: number }
  /** Dies without a goodbye and comes back from a snapshot (see the modes above). */
  | { readonly kind: "crash"; readonly device: number }
  /** Graceful stop (flush, leave), then a new client from the snapshot taken after it. */
  | { readonly kind: "restart"; readonly device: number }
  | { readonly kind: "background"; readonly device: number }
  | { readonly kind: "foreground"; readonly device: number }
  | { readonly kind: "wait"; readonly ms: number };

export interface Schedule {
  /** The memory network's seed: every latency, loss and duplicate, and each device's random stream. */
  readonly seed: number;
  readonly devices: number;
  readonly mode: Mode;
  readonly latency: { readonly minMs: number; readonly maxMs: number };
  readonly lossRate: number;
  readonly duplicateRate: number;
  /** History of `user.{id}.sync`. */
  readonly retention: { readonly count: number; readonly durationMs: number };
  readonly steps: readonly Step[];
}

export interface ScheduleOptions {
  readonly minDevices?: number;
  readonly maxDevices?: number;
  readonly maxSteps?: number;
}

function stepArbitrary(devices: number): fc.Arbitrary<Step> {
  const device = fc.nat({ max: devices - 1 });
  const title = fc.nat({ max: TITLES.length - 1 });
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("add" as const),
        device,
        title,
        snippet: fc.option(fc.nat({ max: 2 }), { nil: null }),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("remove" as const), device, title }) },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("progress" as const),
        device,
        title,
        position: fc.nat({ max: 7200 }),
        state: fc.constantFrom("Playing" as const, "Paused" as const, "Stopped" as const),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("preference" as const),
        device,
        key: fc.nat({ max: PREFERENCE_KEYS.length - 1 }),
        value: fc.nat({ max: PREFERENCE_VALUES.length - 1 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("command" as const),
        device,
        target: device,
        command: fc.nat({ max: COMMANDS.length - 1 }),
        ttlMs: fc.constantFrom(500, 5_000, 60_000),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("partition" as const),
        side: fc.array(fc.boolean(), { minLength: devices, maxLength: devices }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("heal" as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnect" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("reconnect" as const), device }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("blip" as const),
        device,
        ms: fc.integer({ min: 20, max: 3_000 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("away-long" as const),
        device,
        extraMs: fc.integer({ min: 1_000, max: 120_000 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("comeback" as const),
        device,
        extraMs: fc.integer({ min: 1_000, max: 60_000 }),
        afterMs: fc.integer({ min: 0, max: 600 }),
        and: fc.constantFrom("blip" as const, "crash" as const, "restart" as const, "nothing" as const),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("skew" as const),
        device,
        skewMs: fc.integer({ min: -MAX_SKEW_MS, max: MAX_SKEW_MS }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("save" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("background" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("foreground" as const), device }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("wait" as const),
        // Short waits as often as long ones: races live within a round trip or two.
        ms: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 20_000 })),
      }),
    },
  );
}

export function scheduleArbitrary(options: ScheduleOptions = {}): fc.Arbitrary<Schedule> {
  const { minDevices = 2, maxDevices = 6, maxSteps = 150 } = options;
  return fc
    .record({
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      devices: fc.integer({ min: minDevices, max: maxDevices }),
      mode: fc.constantFrom("old-snapshots" as const, "trimmed-history" as const),
      minLatency: fc.integer({ min: 1, max: 30 }),
      spread: fc.integer({ min: 0, max: 250 }),
      lossRate: fc.constantFrom(0, 0.05, 0.2),
      duplicateRate: fc.constantFrom(0, 0.1, 0.3),
      trimmedCount: fc.integer({ min: 3, max: 20 }),
    })
    .chain((base) =>
      fc.array(stepArbitrary(base.devices), { minLength: 1, maxLength: maxSteps, size: "max" }).map(
        (steps): Schedule => ({
          seed: base.seed,
          devices: base.devices,
          mode: base.mode,
          latency: { minMs: base.minLatency, maxMs: base.minLatency + base.spread },
          lossRate: base.lossRate,
          duplicateRate: base.duplicateRate,
          retention:
            base.mode === "trimmed-history"
              ? { count: base.trimmedCount, durationMs: 5 * 60_000 }
              : { count: 1_000, durationMs: 24 * 3_600_000 },
          steps,
        }),
      ),
    );
}
