/**
 * Test plumbing: emulators on free ports and real SDK clients pointed at them, all torn down
 * after each test; bounded waiting.
 */
import PubNub from "pubnub";
import { afterEach } from "vitest";
import { PubNubEmulator, type PubNubEmulatorOptions } from "../src/emulator/index.js";

const emulators: PubNubEmulator[] = [];
const clients: PubNub[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const client of clients.splice(0)) client.destroy(true);
  for (const emulator of emulators.splice(0)) await emulator.stop();
});

export const SUB_KEY = "sub-c-test";
export const PUB_KEY = "pub-c-test";
export const SECRET_KEY = "sec-c-test";

export async function startEmulator(options: PubNubEmulatorOptions = {}): Promise<PubNubEmulator> {
  const emulator = await PubNubEmulator.start(options);
  emulators.push(emulator);
  return emulator;
}

export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** A real SDK client on the emulator, destroyed after the test. */
export function sdkClient(
  emulator: PubNubEmulator,
  userId: string,
  extra: Partial<PubNub.PubNubConfiguration> = {},
): PubNub {
  const client = new PubNub({
    origin: emulator.origin,
    ssl: false,
    subscribeKey: SUB_KEY,
    publishKey: PUB_KEY,
    userId,
    ...extra,
  });
  clients.push(client);
  return client;
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 5000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A listener that records everything one SDK client receives. */
export function record(client: PubNub): {
  messages: PubNub.Subscription.Message[];
  presence: PubNub.Subscription.Presence[];
  signals: PubNub.Subscription.Signal[];
  statuses: PubNub.StatusEvent[];
} {
  const out = {
    messages: [] as PubNub.Subscription.Message[],
    presence: [] as PubNub.Subscription.Presence[],
    signals: [] as PubNub.Subscription.Signal[],
    statuses: [] as PubNub.StatusEvent[],
  };
  client.addListener({
    message: (m) => out.messages.push(m),
    presence: (p) => out.presence.push(p),
    signal: (s) => out.signals.push(s),
    status: (s) => out.statuses.push(s),
  });
  return out;
}

/** Subscribes and waits for the SDK's connected status. */
export async function subscribeAndConnect(
  client: PubNub,
  log: ReturnType<typeof record>,
  params: PubNub.Subscription.SubscribeParameters,
): Promise<void> {
  const before = log.statuses.length;
  client.subscribe(params);
  await waitFor("PNConnectedCategory", () =>
    log.statuses
      .slice(before)
      .some((s) => s.category === "PNConnectedCategory" || s.category === "PNSubscriptionChangedCategory"),
  );
}

import type { TransportMessage, TransportPresenceEvent, TransportStatus } from "@mg-sync/crdt-core";
import { PubNubTransport, type PubNubTransportOptions } from "../src/index.js";

/** A PubNubTransport on the emulator, closed after the test. */
export function transportOn(
  emulator: PubNubEmulator,
  userId: string,
  extra: Partial<PubNubTransportOptions> = {},
): PubNubTransport {
  const transport = new PubNubTransport({
    origin: emulator.origin,
    ssl: false,
    subscribeKey: SUB_KEY,
    publishKey: PUB_KEY,
    userId,
    ...extra,
  });
  cleanups.push(() => transport.close());
  return transport;
}

export interface TransportLog {
  readonly messages: TransportMessage[];
  readonly presence: TransportPresenceEvent[];
  readonly statuses: TransportStatus[];
}

export function recordTransport(transport: PubNubTransport): TransportLog {
  const log: TransportLog = { messages: [], presence: [], statuses: [] };
  transport.addListener({
    message: (m) => log.messages.push(m),
    presence: (p) => log.presence.push(p),
    status: (s) => log.statuses.push(s),
  });
  return log;
}
