/**
 * `--transport pubnub`: the official PubNub SDK behind `PubNubTransport`, against the local
 * PubNub emulator on a free port of 127.0.0.1 (Access Manager on: each device holds a spec 11.1
 * token minted by a server-side SDK instance), or against real PubNub when PUBNUB_PUBLISH_KEY
 * and PUBNUB_SUBSCRIBE_KEY are set (PUBNUB_SECRET_KEY too for a keyset with Access Manager).
 *
 * A device "loses its network" when its HTTP requests fail the way they do offline: the SDK
 * sends through the global `fetch`, which this driver wraps for the run; requests carrying a cut
 * device's `uuid` fail with a connection error, and those in flight (the long-poll) are aborted.
 * The SDK, the transport's reconnect and its history catch-up then do the rest.
 */
import { randomBytes } from "node:crypto";
import type { Transport } from "@mg-sync/crdt-core";
import { PubNubTransport, userTokenGrant } from "@mg-sync/transport-pubnub";
import { PubNubEmulator } from "@mg-sync/transport-pubnub/emulator";
import PubNub from "pubnub";
import type { Timing } from "./driver.js";
import { REAL_TIME_TIMING, RealTimeDriver } from "./real-time.js";

interface Keys {
  readonly subscribeKey: string;
  readonly publishKey: string;
  readonly secretKey?: string;
}

const EMULATOR_KEYS: Keys = { subscribeKey: "sub-c-demo", publishKey: "pub-c-demo", secretKey: "sec-c-demo" };

/**
 * Real PubNub cannot be told to time presence out faster than 20 s: heartbeats every 10 s
 * (offline after 20 s), and more patience per step.
 */
const REAL_PUBNUB_TIMING: Timing = {
  ...REAL_TIME_TIMING,
  client: { ...REAL_TIME_TIMING.client, heartbeatIntervalSec: 10, backgroundHeartbeatIntervalSec: 60 },
  beatMs: 400,
  commandTtlMs: 1_000,
  partitionMs: 3_000,
  stepTimeoutMs: 45_000,
};

type Fetch = typeof globalThis.fetch;

/** What undici's `fetch` throws when there is no network (the SDK files it as a network issue). */
function offlineError(): TypeError {
  const cause = Object.assign(new Error("connect ENETUNREACH (the demo cut this device's network)"), {
    code: "ENETUNREACH",
  });
  return new TypeError("fetch failed", { cause });
}

/** The `uuid` query parameter of a PubNub request: the device it comes from. */
function requestUuid(input: Parameters<Fetch>[0]): string | null {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(url).searchParams.get("uuid");
  } catch {
    return null;
  }
}

export class PubNubDriver extends RealTimeDriver {
  readonly name = "pubnub";
  readonly userId: string;
  readonly description: string;
  readonly #emulator: PubNubEmulator | undefined;
  readonly #keys: Keys;
  readonly #origin: { readonly origin?: string; readonly ssl?: boolean };
  readonly #tokens: ReadonlyMap<string, string>;
  readonly #down = new Set<string>();
  readonly #inFlight = new Map<string, Set<AbortController>>();
  readonly #transports: PubNubTransport[] = [];
  readonly #originalFetch: Fetch;

  private constructor(options: {
    readonly userId: string;
    readonly description: string;
    readonly emulator: PubNubEmulator | undefined;
    readonly keys: Keys;
    readonly origin: { readonly origin?: string; readonly ssl?: boolean };
    readonly tokens: ReadonlyMap<string, string>;
    readonly timing: Timing;
  }) {
    super(options.timing);
    this.userId = options.userId;
    this.description = options.description;
    this.#emulator = options.emulator;
    this.#keys = options.keys;
    this.#origin = options.origin;
    this.#tokens = options.tokens;
    this.#originalFetch = globalThis.fetch;
    globalThis.fetch = this.#gatedFetch.bind(this);
  }

  /** Starts the emulator (or picks real PubNub from the environment) and mints device tokens. */
  static async start(
    env: Readonly<Record<string, string | undefined>>,
    deviceIds: readonly string[],
  ): Promise<PubNubDriver> {
    const publishKey = env.PUBNUB_PUBLISH_KEY;
    const subscribeKey = env.PUBNUB_SUBSCRIBE_KEY;
    if (publishKey !== undefined && subscribeKey !== undefined && publishKey !== "" && subscribeKey !== "") {
      // Real PubNub keeps channels between runs: a fresh user per run starts from nothing.
      const userId = `demo-${randomBytes(4).toString("hex")}`;
      const secretKey = env.PUBNUB_SECRET_KEY === "" ? undefined : env.PUBNUB_SECRET_KEY;
      const keys: Keys =
        secretKey === undefined ? { subscribeKey, publishKey } : { subscribeKey, publishKey, secretKey };
      const tokens =
        secretKey === undefined ? new Map<string, string>() : await mintTokens(keys, {}, userId, deviceIds);
      return new PubNubDriver({
        userId,
        description: `real PubNub (keys from PUBNUB_PUBLISH_KEY / PUBNUB_SUBSCRIBE_KEY${secretKey === undefined ? "" : ", tokens minted with PUBNUB_SECRET_KEY"}), user ${userId}; real time`,
        emulator: undefined,
        keys,
        origin: {},
        tokens,
        timing: REAL_PUBNUB_TIMING,
      });
    }
    const emulator = await PubNubEmulator.start({
      keysets: [EMULATOR_KEYS],
      // The demo's 1 s heartbeats announce 2 s presence timeouts; let the emulator honour them.
      presence: { minTimeoutSeconds: 2, sweepMs: 50 },
    });
    const origin = { origin: emulator.origin, ssl: false };
    const tokens = await mintTokens(EMULATOR_KEYS, origin, "alice", deviceIds);
    return new PubNubDriver({
      userId: "alice",
      description: `the official pubnub SDK against the local PubNub emulator at ${emulator.origin}, Access Manager on with spec 11.1 tokens; real time`,
      emulator,
      keys: EMULATOR_KEYS,
      origin,
      tokens,
      timing: REAL_TIME_TIMING,
    });
  }

  transport(deviceId: string): Transport {
    const token = this.#tokens.get(deviceId);
    const transport = new PubNubTransport({
      ...this.#origin,
      subscribeKey: this.#keys.subscribeKey,
      publishKey: this.#keys.publishKey,
      userId: deviceId,
      ...(token === undefined ? {} : { token }),
      // Without a token on a keyset with Access Manager, sign requests with the secret key.
      ...(token === undefined && this.#keys.secretKey !== undefined
        ? { secretKey: this.#keys.secretKey }
        : {}),
      heartbeatIntervalSeconds: this.timing.client.heartbeatIntervalSec ?? 30,
      // A cut device notices at once and comes back quickly once its network does.
      retryConfiguration: PubNub.NoneRetryPolicy(),
      reconnectBackoff: { baseMs: 100, maxMs: 400 },
    });
    this.#transports.push(transport);
    return transport;
  }

  disconnect(deviceId: string): void {
    this.#down.add(deviceId);
    for (const controller of this.#inFlight.get(deviceId) ?? []) controller.abort();
  }

  reconnect(deviceId: string): void {
    this.#down.delete(deviceId);
  }

  counters(): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    try {
      await Promise.allSettled(this.#transports.map((t) => t.close()));
      await this.#emulator?.stop();
    } finally {
      globalThis.fetch = this.#originalFetch;
    }
  }

  #gatedFetch(input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]): ReturnType<Fetch> {
    const uuid = requestUuid(input);
    if (uuid === null) return this.#originalFetch(input, init);
    if (this.#down.has(uuid)) return Promise.reject(offlineError());
    const cut = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
    const controllers = this.#inFlight.get(uuid) ?? new Set<AbortController>();
    this.#inFlight.set(uuid, controllers);
    controllers.add(cut);
    return this.#originalFetch(input, { ...init, signal })
      .catch((error: unknown) => {
        throw cut.signal.aborted ? offlineError() : error;
      })
      .finally(() => controllers.delete(cut));
  }
}

/** Spec 11.1 tokens, one per device, minted by a server-side SDK instance holding the secret key. */
async function mintTokens(
  keys: Keys,
  origin: { readonly origin?: string; readonly ssl?: boolean },
  userId: string,
  deviceIds: readonly string[],
): Promise<Map<string, string>> {
  if (keys.secretKey === undefined) return new Map();
  const server = new PubNub({
    ...origin,
    subscribeKey: keys.subscribeKey,
    publishKey: keys.publishKey,
    secretKey: keys.secretKey,
    userId: "demo-token-service",
  });
  try {
    const tokens = new Map<string, string>();
    for (const deviceId of deviceIds)
      tokens.set(deviceId, await server.grantToken(userTokenGrant(userId, deviceId)));
    return tokens;
  } finally {
    server.destroy(true);
  }
}
