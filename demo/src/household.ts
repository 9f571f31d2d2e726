/**
 * The user's devices: what each one is (spec 3.3 capabilities), and how the demo builds a
 * `SyncClient` for it over whichever transport the run uses.
 */
import type { Clock, DeviceCapabilities, DevicePlatform, DeviceType } from "@mg-sync/crdt-core";
import { createSyncClient, type SyncClient } from "@mg-sync/sync-client";
import type { Driver } from "./drivers/driver.js";
import { type PublishTap, TappedTransport, type WireCounters } from "./tapped-transport.js";

export interface DeviceKind {
  readonly deviceType: DeviceType;
  readonly platform: DevicePlatform;
  readonly capabilities: DeviceCapabilities;
}

export const TV_KIND: DeviceKind = {
  deviceType: "TV",
  platform: "Tizen",
  capabilities: {
    max_resolution: "UHD_4K",
    audio_codecs: ["AAC", "Dolby_Atmos"],
    hdr_support: ["HDR10", "Dolby_Vision"],
    remote_controllable: true,
    can_cast: false,
    screen_size: 65,
  },
};

/** Not remote-controllable: a command to it is refused (spec 6.3 step 3). */
export const PHONE_KIND: DeviceKind = {
  deviceType: "Phone",
  platform: "iOS",
  capabilities: {
    max_resolution: "FHD",
    audio_codecs: ["AAC"],
    hdr_support: ["HDR10"],
    remote_controllable: false,
    can_cast: true,
    screen_size: 6.1,
  },
};

export const WEB_KIND: DeviceKind = {
  deviceType: "Web",
  platform: "Web",
  capabilities: {
    max_resolution: "FHD",
    audio_codecs: ["AAC"],
    hdr_support: [],
    remote_controllable: true,
    can_cast: true,
    screen_size: null,
  },
};

export interface DeviceSpec {
  /** Short name in the timeline. */
  readonly label: string;
  readonly deviceId: string;
  readonly kind: DeviceKind;
  /** What it is, for the header. */
  readonly description: string;
  /** Its wall clock's error (positive: ahead). */
  readonly skewMs: number;
}

export interface Device {
  readonly label: string;
  readonly deviceId: string;
  readonly spec: DeviceSpec;
  readonly client: SyncClient;
  /** The device's own wall clock (skew included). */
  readonly clock: Clock;
}

/** Everything the devices of a run share: the wire counters and the publish tap. */
export interface Wiring {
  readonly counters: WireCounters;
  readonly onPublish: PublishTap;
}

export function newWiring(onPublish: PublishTap = () => {}): Wiring {
  return { counters: { published: 0, delivered: 0, publishedBytes: 0 }, onPublish };
}

export function createDevice(driver: Driver, spec: DeviceSpec, wiring: Wiring): Device {
  const runtime = driver.runtime(spec.deviceId, spec.skewMs);
  const transport = new TappedTransport(driver.transport(spec.deviceId), wiring.counters, wiring.onPublish);
  const client = createSyncClient({
    userId: driver.userId,
    deviceId: spec.deviceId,
    deviceType: spec.kind.deviceType,
    platform: spec.kind.platform,
    appVersion: "1.2.3",
    capabilities: spec.kind.capabilities,
    transport,
    clock: runtime.clock,
    scheduler: runtime.scheduler,
    random: runtime.random,
    ...driver.timing.client,
  });
  return { label: spec.label, deviceId: spec.deviceId, spec, client, clock: runtime.clock };
}

/** Starts every device at once and waits until each has caught up. */
export async function startAll(driver: Driver, devices: readonly Device[]): Promise<void> {
  await driver.drive(Promise.all(devices.map((device) => device.client.start())));
}

/** Stops every device gracefully (device_leave, outbox flushed), each at most `stopTimeoutMs`. */
export async function stopAll(driver: Driver, devices: readonly Device[]): Promise<void> {
  const running = devices.filter((d) => d.client.phase === "running" || d.client.phase === "starting");
  await driver.drive(Promise.allSettled(running.map((device) => device.client.stop())));
}
