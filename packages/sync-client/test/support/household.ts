/**
 * A user's devices on the seeded memory network: real clients over real simulated transports,
 * each with its own (skewable) clock and random stream, all on the network's virtual time.
 */
import type { SyncChange, Transport } from "@mg-sync/crdt-core";
import { MemoryNetwork, type MemoryNetworkOptions } from "@mg-sync/transport-memory";
import { expect } from "vitest";
import { type DeviceProfile, PROFILES } from "../../../../test/scenarios/devices.js";
import { createSyncClient, type SyncClient, type SyncClientOptions } from "../../src/index.js";

export { MemoryNetwork };

export const USER = "alice";
export const SYNC_CHANNEL = `user.${USER}.sync`;
export const DEVICES_CHANNEL = `user.${USER}.devices`;

type Preset = Pick<DeviceProfile, "deviceType" | "platform" | "capabilities">;

/** A spec household device's kind (spec 3.3 capabilities), without its id. */
function kindOf({ deviceType, platform, capabilities }: DeviceProfile): Preset {
  return { deviceType, platform, capabilities };
}

export const TV = kindOf(PROFILES.tv);
/** Not remote-controllable: a command to it is refused (spec 6.3). */
export const PHONE = kindOf(PROFILES.phone);
export const WEB = kindOf(PROFILES.web);

export function presetFor(deviceId: string): Preset {
  if (deviceId.startsWith("tv")) return TV;
  if (deviceId.startsWith("phone")) return PHONE;
  return WEB;
}

export function newNetwork(seed: number, options: Omit<MemoryNetworkOptions, "seed"> = {}): MemoryNetwork {
  return new MemoryNetwork({ seed, ...options });
}

/** Options for a client of `deviceId` on `network` (opens its transport). */
export function clientOptions(
  network: MemoryNetwork,
  deviceId: string,
  overrides: Partial<SyncClientOptions> = {},
): SyncClientOptions {
  const preset = presetFor(deviceId);
  const transport: Transport = overrides.transport ?? network.client(deviceId);
  return {
    userId: USER,
    deviceId,
    ...preset,
    appVersion: "1.2.3",
    clock: network.clock(deviceId),
    scheduler: network.scheduler,
    random: network.randomFor(deviceId),
    ...overrides,
    transport,
  };
}

export function newClient(
  network: MemoryNetwork,
  deviceId: string,
  overrides: Partial<SyncClientOptions> = {},
): SyncClient {
  return createSyncClient(clientOptions(network, deviceId, overrides));
}

/** Starts every client, driving the network until each start has finished. */
export async function startAll(network: MemoryNetwork, clients: readonly SyncClient[]): Promise<void> {
  await network.runUntilSettled(Promise.all(clients.map((c) => c.start())));
}

/**
 * Lets everything in flight land: network deliveries, the reconciliation responders' random
 * delays (timers, which `runUntilQuiet` does not wait for) and the clients' async crypto (which
 * runs off virtual time: each round waits for it before letting the network go on).
 */
export async function settle(
  network: MemoryNetwork,
  clients: readonly SyncClient[],
  rounds = 3,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await network.runFor(1000);
    for (let step = 0; step < 10_000; step++) {
      await network.runUntilQuiet();
      await Promise.all(clients.map((c) => c.whenIdle()));
      if (network.inFlight() === 0) break;
    }
  }
}

/** Same states, or a failure that says where they differ (not two 50 KB strings). */
export function expectConverged(clients: readonly SyncClient[]): void {
  const [first, ...rest] = clients;
  if (first === undefined) return;
  for (const other of rest) {
    expect(other.watchlist.values(), `${other.deviceId} watchlist vs ${first.deviceId}`).toEqual(
      first.watchlist.values(),
    );
    expect(other.progress.entries(), `${other.deviceId} progress vs ${first.deviceId}`).toEqual(
      first.progress.entries(),
    );
    expect(stateOf(other) === stateOf(first), `${other.deviceId} state equals ${first.deviceId}'s`).toBe(
      true,
    );
  }
}

/** A comparable form of a client's sync state. */
export function stateOf(client: SyncClient): string {
  return JSON.stringify(client.snapshot().state);
}

/** Every `change` event a client emits. */
export function recordChanges(client: SyncClient): Array<{ changes: readonly SyncChange[]; origin: string }> {
  const out: Array<{ changes: readonly SyncChange[]; origin: string }> = [];
  client.on("change", (changes, origin) => out.push({ changes, origin }));
  return out;
}

/** Fails the test on any background error a client reports. */
export function failOnErrors(client: SyncClient): Error[] {
  const errors: Error[] = [];
  client.on("error", (error) => errors.push(error));
  return errors;
}

/** A plain transport listening on some of the user's channels: what went over the wire. */
export async function observe(
  network: MemoryNetwork,
  channels: readonly string[],
  id = "observer",
): Promise<Array<{ channel: string; publisher: string; payload: Record<string, unknown> }>> {
  const transport = network.client(id);
  const seen: Array<{ channel: string; publisher: string; payload: Record<string, unknown> }> = [];
  transport.addListener({
    message: (m) =>
      seen.push({
        channel: m.channel,
        publisher: m.publisher,
        payload: m.payload as Record<string, unknown>,
      }),
  });
  await network.runUntilSettled(transport.subscribe({ channels }));
  return seen;
}
