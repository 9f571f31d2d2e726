/**
 * "Has this device seen that change?", asked of the device's own state, so the answer holds
 * whichever path brought the change (live delivery, history catch-up, reconciliation):
 * - a watchlist add is seen once its dot is in the device's causal context (DEVIATIONS 5);
 * - a remove, once every dot it removed is known there and none is live;
 * - a progress or preference write, once the device's register holds that write or a later
 *   one (LWW by `(timestamp, device_id)`, DEVIATIONS 3);
 * - presence, once the device's devices view says so.
 */
import { ccHas, type DeviceView, type LwwStamp, lwwCompare, type OrSetDot } from "@mg-sync/crdt-core";
import type { SyncClient } from "@mg-sync/sync-client";
import type { Device } from "./household.js";
import type { Watch } from "./timeline.js";

export type DotId = Pick<OrSetDot, "replica" | "counter">;

/** The live dots of `element` on `client`. */
export function liveDots(client: SyncClient, element: string): DotId[] {
  return (client.state().watchlist.entries.get(element) ?? []).map(({ replica, counter }) => ({
    replica,
    counter,
  }));
}

/** The dot `client` minted for its latest add of `element`. */
export function ownDot(client: SyncClient, element: string): DotId {
  const mine = liveDots(client, element).filter((dot) => dot.replica === client.incarnation);
  const newest = mine.sort((a, b) => b.counter - a.counter)[0];
  if (newest === undefined) throw new Error(`${client.deviceId} holds no dot of its own for ${element}`);
  return newest;
}

export function seesAdd(observer: Device, dot: DotId): Watch {
  return {
    observer,
    check: () => ccHas(observer.client.state().watchlist.context, dot.replica, dot.counter),
  };
}

export function seesRemove(observer: Device, element: string, removed: readonly DotId[]): Watch {
  return {
    observer,
    check: () => {
      const { watchlist } = observer.client.state();
      const live = watchlist.entries.get(element) ?? [];
      return removed.every(
        (dot) =>
          ccHas(watchlist.context, dot.replica, dot.counter) &&
          !live.some((l) => l.replica === dot.replica && l.counter === dot.counter),
      );
    },
  };
}

/** The stamp of `client`'s progress register for `contentId` (after a local update). */
export function progressStamp(client: SyncClient, contentId: string): LwwStamp {
  const entry = client.state().progress.entries.get(contentId);
  if (entry === undefined) throw new Error(`${client.deviceId} has no progress for ${contentId}`);
  return { ts: entry.ts, node: entry.node };
}

export function preferenceStamp(client: SyncClient, key: string): LwwStamp {
  const entry = client.state().preferences.entries.get(key);
  if (entry === undefined) throw new Error(`${client.deviceId} has no preference ${key}`);
  return { ts: entry.ts, node: entry.node };
}

export function seesProgress(observer: Device, contentId: string, stamp: LwwStamp): Watch {
  return {
    observer,
    check: () => {
      const entry = observer.client.state().progress.entries.get(contentId);
      return entry !== undefined && lwwCompare(entry, stamp) >= 0;
    },
  };
}

export function seesPreference(observer: Device, key: string, stamp: LwwStamp): Watch {
  return {
    observer,
    check: () => {
      const entry = observer.client.state().preferences.entries.get(key);
      return entry !== undefined && lwwCompare(entry, stamp) >= 0;
    },
  };
}

export function viewOf(observer: Device, deviceId: string): DeviceView | undefined {
  return observer.client.devices().find((view) => view.deviceId === deviceId);
}

export function seesPresence(
  observer: Device,
  deviceId: string,
  saw: string,
  holds: (view: DeviceView) => boolean,
): Watch {
  return {
    observer,
    saw,
    check: () => {
      const view = viewOf(observer, deviceId);
      return view !== undefined && holds(view);
    },
  };
}

/** Every other device of `devices`, each watching with `make`. */
export function others(
  devices: readonly Device[],
  actor: Device,
  make: (observer: Device) => Watch,
): Watch[] {
  return devices.filter((device) => device !== actor).map(make);
}
