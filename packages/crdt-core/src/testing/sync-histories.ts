/**
 * Random multi-device histories of sync messages, and the reference model they must converge
 * to: LWW by `(timestamp, device_id)` per title and per preference, add-wins for the watchlist
 * (an add is live iff no operation observed its dot). Devices act on their own state, so a
 * remove observes exactly what its device had seen, and receive some messages along the way.
 */
import fc from "fast-check";
import { hlcTick } from "../hlc.js";
import { lwwCompare } from "../lww.js";
import type {
  PreferenceUpdateMessage,
  WatchlistUpdateMessage,
  WatchProgressUpdateMessage,
} from "../messages/sync.js";
import {
  applyMessageInto,
  preferenceMessage,
  syncStateEmpty,
  type UserSyncState,
  watchlistAddMessage,
  watchlistRemoveMessage,
  watchProgressMessage,
} from "../sync-state.js";

export type SyncMessageOfHistory =
  | WatchProgressUpdateMessage
  | WatchlistUpdateMessage
  | PreferenceUpdateMessage;

export type SyncStep =
  | { readonly kind: "progress"; readonly device: number; readonly title: number; readonly seconds: number }
  | { readonly kind: "add"; readonly device: number; readonly title: number; readonly withSnippet: boolean }
  | { readonly kind: "remove"; readonly device: number; readonly title: number }
  | {
      readonly kind: "preference";
      readonly device: number;
      readonly key: number;
      readonly value: string | null;
    }
  | { readonly kind: "deliver"; readonly device: number; readonly message: number }
  /** The device's physical clock moves (possibly backwards). */
  | { readonly kind: "time"; readonly device: number; readonly deltaMs: number };

export interface SyncHistory {
  readonly devices: readonly string[];
  readonly states: readonly UserSyncState[];
  readonly messages: readonly SyncMessageOfHistory[];
}

export const HISTORY_TITLES = [
  "tmdb:550",
  "tmdb:603",
  "tmdb:13",
  "tmdb:680",
  "tmdb:155",
  "tmdb:27205",
  "tmdb:238",
  "tmdb:424",
];
export const HISTORY_PREFERENCE_KEYS = ["subtitles", "autoplay", "quality"];
const T0 = 1_733_500_800_000;

export function syncStepArbitrary(devices: number): fc.Arbitrary<SyncStep> {
  const device = fc.nat({ max: devices - 1 });
  const title = fc.nat({ max: HISTORY_TITLES.length - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant("progress" as const), device, title, seconds: fc.nat({ max: 7200 }) }),
    fc.record({ kind: fc.constant("add" as const), device, title, withSnippet: fc.boolean() }),
    fc.record({ kind: fc.constant("remove" as const), device, title }),
    fc.record({
      kind: fc.constant("preference" as const),
      device,
      key: fc.nat({ max: HISTORY_PREFERENCE_KEYS.length - 1 }),
      value: fc.constantFrom("en", "fr", "on", "off", null),
    }),
    fc.record({ kind: fc.constant("deliver" as const), device, message: fc.nat() }),
    fc.record({ kind: fc.constant("time" as const), device, deltaMs: fc.integer({ min: -2000, max: 2000 }) }),
  );
}

export function syncHistoryArbitrary(
  options: {
    readonly minDevices?: number;
    readonly maxDevices?: number;
    readonly minSteps?: number;
    readonly maxSteps?: number;
  } = {},
): fc.Arbitrary<SyncHistory> {
  const { minDevices = 2, maxDevices = 5, minSteps = 0, maxSteps = 40 } = options;
  return fc
    .integer({ min: minDevices, max: maxDevices })
    .chain((count) =>
      fc
        .array(syncStepArbitrary(count), { minLength: minSteps, maxLength: maxSteps, size: "max" })
        .map((steps) => runSyncHistory(count, steps)),
    );
}

export function runSyncHistory(count: number, steps: readonly SyncStep[]): SyncHistory {
  const devices = Array.from(
    { length: count },
    (_, i) => ["tv-living-room", "phone-ios", "web-mac", "tablet", "tv-bedroom"][i] ?? `device-${i}`,
  );
  const states = devices.map(() => syncStateEmpty());
  const clocks = devices.map(() => 0);
  // Skewed physical clocks: device i runs i * 700 ms behind.
  const physical = devices.map((_, i) => T0 - i * 700);
  const messages: SyncMessageOfHistory[] = [];
  const stamp = (device: number): number => {
    clocks[device] = hlcTick(clocks[device]!, Math.max(0, physical[device]!));
    return clocks[device]!;
  };
  for (const step of steps) {
    const d = step.device;
    const state = states[d]!;
    const device_id = devices[d]!;
    let message: SyncMessageOfHistory | undefined;
    switch (step.kind) {
      case "time":
        physical[d] = physical[d]! + step.deltaMs;
        continue;
      case "deliver":
        if (messages.length > 0) {
          const delivered = messages[step.message % messages.length]!;
          clocks[d] = Math.max(clocks[d]!, delivered.timestamp);
          applyMessageInto(state, delivered);
        }
        continue;
      case "progress":
        message = watchProgressMessage({
          content_id: HISTORY_TITLES[step.title]!,
          progress_seconds: step.seconds,
          duration_seconds: 7200,
          state: step.seconds % 2 === 0 ? "Playing" : "Paused",
          device_id,
          device_type: d === 1 ? "Phone" : "TV",
          timestamp: stamp(d),
        });
        break;
      case "add": {
        const content_id = HISTORY_TITLES[step.title]!;
        message = watchlistAddMessage(state, {
          content_id,
          device_id,
          replica: device_id,
          timestamp: stamp(d),
          ...(step.withSnippet
            ? { content_metadata: { title: `Title ${content_id}`, content_type: "Movie" } }
            : {}),
        });
        break;
      }
      case "remove":
        message = watchlistRemoveMessage(state, {
          content_id: HISTORY_TITLES[step.title]!,
          device_id,
          timestamp: stamp(d),
        });
        break;
      case "preference":
        message = preferenceMessage({
          key: HISTORY_PREFERENCE_KEYS[step.key]!,
          value: step.value,
          device_id,
          timestamp: stamp(d),
        });
        break;
    }
    applyMessageInto(state, message);
    messages.push(message);
  }
  return { devices, states, messages };
}

/** What every replica must show once it has every message: the reference semantics. */
export interface SyncModel {
  readonly progress: Record<string, number>;
  readonly watchlist: Record<string, string | null>;
  readonly preferences: Record<string, unknown>;
}

export function syncModel(messages: readonly SyncMessageOfHistory[]): SyncModel {
  const progress = new Map<string, WatchProgressUpdateMessage>();
  const preferences = new Map<string, PreferenceUpdateMessage>();
  const observed = new Set<string>();
  const adds: WatchlistUpdateMessage[] = [];
  const stamp = (m: { timestamp: number; device_id: string }) => ({ ts: m.timestamp, node: m.device_id });
  for (const m of messages) {
    if (m.msg_type === "watch_progress_update") {
      const current = progress.get(m.content_id);
      if (current === undefined || lwwCompare(stamp(m), stamp(current)) > 0) progress.set(m.content_id, m);
    } else if (m.msg_type === "preference_update") {
      const current = preferences.get(m.key);
      if (current === undefined || lwwCompare(stamp(m), stamp(current)) > 0) preferences.set(m.key, m);
    } else {
      for (const [replica, counter] of m.observed ?? []) observed.add(`${replica}:${counter}`);
      if (m.operation === "Add") adds.push(m);
    }
  }
  const best = new Map<string, WatchlistUpdateMessage>();
  for (const add of adds) {
    const [replica, counter] = add.dot!;
    if (observed.has(`${replica}:${counter}`)) continue;
    const current = best.get(add.content_id);
    const [cr, cc] = current?.dot ?? ["", 0];
    if (current === undefined || counter > cc || (counter === cc && replica > cr))
      best.set(add.content_id, add);
  }
  return {
    progress: Object.fromEntries([...progress].map(([k, m]) => [k, m.progress_seconds] as const).sort(byKey)),
    watchlist: Object.fromEntries(
      [...best].map(([k, m]) => [k, m.content_metadata?.title ?? null] as const).sort(byKey),
    ),
    preferences: Object.fromEntries(
      [...preferences]
        .filter(([, m]) => m.value !== null)
        .map(([k, m]) => [k, m.value] as const)
        .sort(byKey),
    ),
  };
}

function byKey(x: readonly [string, unknown], y: readonly [string, unknown]): number {
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}
