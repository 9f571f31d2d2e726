/**
 * The end of every run: each device's own view of the state (watchlist with titles, progress,
 * preferences, devices), then the convergence check. The check compares what the devices
 * hold, key by key, plus the whole CRDT state (causal context included) and who each device
 * sees online; its last line is `converged: N devices, 0 differences` or says what differs.
 */
import {
  type DeviceActivity,
  type LwwMapEntry,
  syncStateEquals,
  type UserSyncState,
  type WatchlistItem,
  type WatchProgress,
} from "@mg-sync/crdt-core";
import { shortName, titleName } from "./catalog.js";
import { position } from "./format-time.js";
import type { Device } from "./household.js";

/** What a device held when the run ended (read before the devices stop). */
export interface FinalView {
  readonly device: Device;
  readonly state: UserSyncState;
  /** deviceId → "online, watching Fight Club" as this device sees it. */
  readonly presence: ReadonlyMap<string, { readonly online: boolean; readonly activity: DeviceActivity }>;
}

export function captureFinalViews(devices: readonly Device[]): FinalView[] {
  return devices.map((device) => ({
    device,
    state: device.client.state(),
    presence: new Map(
      device.client
        .devices()
        .map((view) => [view.deviceId, { online: view.online, activity: view.activity }]),
    ),
  }));
}

export function activityText(activity: DeviceActivity, short = false): string {
  if (activity === "Idle") return "idle";
  if (activity === "Browsing") return "browsing";
  const name = (id: string) => (short ? shortName(id) : titleName(id));
  if ("Watching" in activity) return `watching ${name(activity.Watching.content_id)}`;
  return `paused on ${name(activity.Paused.content_id)}`;
}

function progressText(progress: WatchProgress): string {
  const percent = Math.round(progress.completion_percent * 100);
  return `${position(progress.progress_seconds)} of ${position(progress.duration_seconds)} (${percent} %), ${progress.state} on ${progress.device_type}`;
}

function liveEntries<T>(entries: ReadonlyMap<string, LwwMapEntry<T>>): [string, T][] {
  const out: [string, T][] = [];
  for (const [key, entry] of entries) if (!entry.deleted) out.push([key, entry.value]);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Prints each device's own view. */
export function printFinalState(views: readonly FinalView[], write: (line: string) => void): void {
  const labelOf = labels(views);
  write("");
  write("Final state, as each device holds it");
  for (const { device, state, presence } of views) {
    write(`  ${device.label} (${device.deviceId})`);
    const watchlist = [...state.watchlist.entries.keys()]
      .map((id) => {
        const payload = state.watchlist.entries.get(id)?.[0]?.payload as Partial<WatchlistItem> | undefined;
        return titleName(id, payload?.content_metadata);
      })
      .sort();
    write(`    watchlist    ${watchlist.length === 0 ? "(empty)" : watchlist.join(", ")}`);
    const progress = liveEntries(state.progress.entries);
    if (progress.length === 0) write("    progress     (none)");
    progress.forEach(([id, value], i) => {
      write(`    ${i === 0 ? "progress   " : "           "}  ${shortName(id)}: ${progressText(value)}`);
    });
    const preferences = liveEntries(state.preferences.entries);
    write(
      `    preferences  ${preferences.length === 0 ? "(none)" : preferences.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ")}`,
    );
    const seen = [...presence.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(
        ([id, view]) =>
          `${labelOf(id)} ${view.online ? "online" : "offline"}, ${activityText(view.activity, true)}`,
      );
    write(`    devices      ${seen.join("; ")}`);
  }
}

function labels(views: readonly FinalView[]): (deviceId: string) => string {
  const byId = new Map(views.map((v) => [v.device.deviceId, v.device.label]));
  return (deviceId) => byId.get(deviceId) ?? deviceId;
}

interface Aspect {
  readonly name: string;
  readonly keys: (view: FinalView) => Iterable<string>;
  /** A comparable form of `key` on `view`; `undefined`: it does not hold it. */
  readonly value: (view: FinalView, key: string) => string | undefined;
  readonly keyName: (key: string) => string;
  /** How a value reads in a difference report. */
  readonly show: (view: FinalView, key: string) => string;
  /** Differences are reported but do not count against convergence. */
  readonly advisory?: boolean;
}

const ASPECTS: readonly Aspect[] = [
  {
    name: "watchlist",
    keys: (v) => v.state.watchlist.entries.keys(),
    value: (v, key) => {
      const dots = v.state.watchlist.entries.get(key);
      return dots === undefined ? undefined : JSON.stringify([...dots].sort((a, b) => compareDots(a, b)));
    },
    keyName: (key) => titleName(key),
    show: (v, key) => (v.state.watchlist.entries.has(key) ? "has it" : "lacks it"),
  },
  {
    name: "progress",
    keys: (v) => v.state.progress.entries.keys(),
    value: (v, key) => stamped(v.state.progress.entries.get(key)),
    keyName: (key) => shortName(key),
    show: (v, key) => {
      const entry = v.state.progress.entries.get(key);
      return entry === undefined || entry.deleted ? "none" : progressText(entry.value);
    },
  },
  {
    name: "preferences",
    keys: (v) => v.state.preferences.entries.keys(),
    value: (v, key) => stamped(v.state.preferences.entries.get(key)),
    keyName: (key) => key,
    show: (v, key) => {
      const entry = v.state.preferences.entries.get(key);
      return entry === undefined || entry.deleted ? "unset" : JSON.stringify(entry.value);
    },
  },
  {
    name: "presence",
    keys: (v) => v.presence.keys(),
    value: (v, key) => {
      const seen = v.presence.get(key);
      return seen === undefined ? undefined : String(seen.online);
    },
    keyName: (key) => key,
    show: (v, key) => {
      const seen = v.presence.get(key);
      return seen === undefined ? "unknown" : seen.online ? "online" : "offline";
    },
  },
  {
    // Presence state is ephemeral and not part of the sync state (spec 8.1): reported, not counted.
    name: "activity",
    advisory: true,
    keys: (v) => v.presence.keys(),
    value: (v, key) => {
      const seen = v.presence.get(key);
      return seen === undefined ? undefined : JSON.stringify(seen.activity);
    },
    keyName: (key) => key,
    show: (v, key) => {
      const seen = v.presence.get(key);
      return seen === undefined ? "unknown" : activityText(seen.activity, true);
    },
  },
];

function compareDots(
  a: { replica: string; counter: number },
  b: { replica: string; counter: number },
): number {
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : a.counter - b.counter;
}

function stamped<T>(entry: LwwMapEntry<T> | undefined): string | undefined {
  return entry === undefined ? undefined : JSON.stringify([entry.ts, entry.node, entry.deleted, entry.value]);
}

export interface Convergence {
  readonly devices: number;
  /** One line per difference; empty when converged. */
  readonly differences: readonly string[];
  /** Differences in what is not sync state (presence activity): shown, not counted. */
  readonly advisories: readonly string[];
  /** Aspect → how many keys every device agrees on. */
  readonly agreed: ReadonlyMap<string, number>;
}

export function checkConvergence(views: readonly FinalView[]): Convergence {
  const differences: string[] = [];
  const advisories: string[] = [];
  const agreed = new Map<string, number>();
  const labelOf = labels(views);
  for (const aspect of ASPECTS) {
    const keys = new Set<string>();
    for (const view of views) for (const key of aspect.keys(view)) keys.add(key);
    let same = 0;
    for (const key of [...keys].sort()) {
      const values = views.map((view) => aspect.value(view, key));
      if (values.every((value) => value === values[0])) {
        same++;
        continue;
      }
      const groups = new Map<string, FinalView[]>();
      views.forEach((view, i) => {
        const group = groups.get(values[i] ?? "") ?? [];
        group.push(view);
        groups.set(values[i] ?? "", group);
      });
      const parts = [...groups.values()].map(
        (group) => `${group.map((v) => v.device.label).join(", ")}: ${aspect.show(group[0]!, key)}`,
      );
      const name =
        aspect.name === "presence" || aspect.name === "activity" ? labelOf(key) : aspect.keyName(key);
      (aspect.advisory === true ? advisories : differences).push(
        `${aspect.name} ${name}: ${parts.join("; ")}`,
      );
    }
    agreed.set(aspect.name, same);
  }
  // Same visible values can still hide different causal contexts (what each has seen removed).
  const first = views[0];
  if (differences.length === 0 && first !== undefined) {
    for (const view of views.slice(1)) {
      if (!syncStateEquals(first.state, view.state)) {
        differences.push(
          `state of ${view.device.label} differs from ${first.device.label}'s (causal context)`,
        );
      }
    }
  }
  return { devices: views.length, differences, advisories, agreed };
}

/** The check, ending with its one-line verdict. */
export function printConvergence(
  result: Convergence,
  views: readonly FinalView[],
  write: (line: string) => void,
  detail: boolean,
): void {
  const n = result.devices;
  if (detail) {
    write("");
    write("Convergence check");
    const first = views[0];
    const count = (aspect: string) => result.agreed.get(aspect) ?? 0;
    write(`  watchlist    ${plural(count("watchlist"), "title")} the same on every device`);
    write(`  progress     ${plural(count("progress"), "title")} the same on every device`);
    write(`  preferences  ${plural(count("preferences"), "key")} the same on every device`);
    if (first !== undefined) {
      const online = [...first.presence.values()].filter((v) => v.online).length;
      write(
        `  presence     every device sees the same ${plural(count("presence"), "device")} (${online} online)`,
      );
    }
    for (const advisory of result.advisories)
      write(`  ! ${advisory} (presence state, not sync state: not counted)`);
    for (const difference of result.differences) write(`  ✗ ${difference}`);
  }
  const noun = result.differences.length === 1 ? "difference" : "differences";
  if (result.differences.length === 0) write(`converged: ${n} devices, 0 differences`);
  else
    write(
      `NOT converged: ${n} devices, ${result.differences.length} ${noun}: ${result.differences.join(" | ")}`,
    );
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
