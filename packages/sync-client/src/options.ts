/**
 * `createSyncClient`'s options, their defaults, and their checks. Options come from the app's
 * own code, so a bad one is a bug: it throws a `TypeError` / `RangeError` naming the option.
 */
import {
  type Clock,
  checkDeviceCapabilities,
  DEFAULT_ENCRYPTED_CHANNELS,
  type DeviceCapabilities,
  type DevicePlatform,
  type DeviceType,
  devicePlatform,
  deviceType,
  HLC_DEFAULT_MAX_DRIFT_MS,
  heartbeatInterval,
  id,
  MAX_COMMAND_TTL_MS,
  nonEmptyLabel,
  type Random,
  type Scheduler,
  type Transport,
  userSyncChannel,
  ValidationError,
  validateChannelId,
  validateChannelPattern,
} from "@mg-sync/crdt-core";
import { INCARNATION_SEPARATOR, INCARNATION_SUFFIX_LENGTH } from "./incarnation.js";
import { DEFAULT_RECONCILIATION_DELAY_MS, type DelayRange } from "./reconciliation.js";

/** What a device reports in its heartbeats (spec 3.3) besides what never changes. */
export interface DeviceStatus {
  /** 0..1, or `null` for devices without a battery. */
  readonly battery_level?: number | null;
  /** 1 (poor) .. 5 (excellent). */
  readonly network_quality: number;
}

export interface SyncClientOptions {
  readonly userId: string;
  /** Also the transport's `clientId`: presence events name devices by it. */
  readonly deviceId: string;
  readonly deviceType: DeviceType;
  readonly platform: DevicePlatform;
  readonly appVersion: string;
  readonly capabilities: DeviceCapabilities;
  /** The user's region (`region.{code}.updates`, spec 2.2); kept for the typed subscriptions. */
  readonly region?: string;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  /** The user's AES-256-GCM key (`deriveUserKey` / `importUserKey`). Without it nothing is encrypted. */
  readonly encryptionKey?: CryptoKey;
  /** Channel patterns to encrypt when a key is given; default spec 12.3's (`user.*.sync`, `user.*.notifications`). */
  readonly encryptedChannels?: readonly string[];
  /** A `client.snapshot()` read back from storage (validated; `SnapshotError` if it is not one). */
  readonly snapshot?: unknown;
  /** At most one progress message per title per this many ms (default 10 000, spec 5.2). */
  readonly progressThrottleMs?: number;
  /** Foreground heartbeat period (default 30 s, spec 6.2). */
  readonly heartbeatIntervalSec?: number;
  /** Background heartbeat period (default 300 s, spec 8.2). */
  readonly backgroundHeartbeatIntervalSec?: number;
  /** Remote timestamps further ahead of our wall clock are refused (default 60 000, DEVIATIONS 2). */
  readonly maxDriftMs?: number;
  /** Random wait before answering a reconciliation request (default 20–300 ms). */
  readonly reconciliationDelayMs?: DelayRange;
  /**
   * How long answers to our own request are collected before we compare them with our state and,
   * if they lack something we hold, publish ours (default `reconciliationDelayMs.max` + 3 000).
   */
  readonly reconciliationWindowMs?: number;
  /** How long `stop()` waits for the outbox to drain (default 10 000 ms). */
  readonly stopTimeoutMs?: number;
  /** Lifetime of a command sent with `sendCommand` (default 5 000 ms, spec 3.4). */
  readonly commandTtlMs?: number;
  /** How far before the last seen timetoken history catch-up starts (default 30 000 ms; see catch-up.ts). */
  readonly catchUpOverlapMs?: number;
  /** Battery and network quality for heartbeats (default: no battery, quality 5). */
  readonly deviceStatus?: () => DeviceStatus;
}

export interface ResolvedOptions {
  readonly userId: string;
  readonly deviceId: string;
  readonly deviceType: DeviceType;
  readonly platform: DevicePlatform;
  readonly appVersion: string;
  readonly capabilities: DeviceCapabilities;
  readonly region: string | undefined;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly encryptionKey: CryptoKey | undefined;
  /** Empty without a key. */
  readonly encryptedChannels: readonly string[];
  readonly snapshot: unknown;
  readonly progressThrottleMs: number;
  readonly heartbeatIntervalSec: number;
  readonly backgroundHeartbeatIntervalSec: number;
  readonly maxDriftMs: number;
  readonly reconciliationDelayMs: DelayRange;
  readonly reconciliationWindowMs: number;
  readonly stopTimeoutMs: number;
  readonly commandTtlMs: number;
  readonly catchUpOverlapMs: number;
  readonly deviceStatus: () => DeviceStatus;
}

/**
 * Ids we derive from the device id must stay ids (at most 128 characters): the incarnation
 * (`~` + 8 characters) and, after it, `:` + a 16-digit HLC in command and request ids.
 */
export const MAX_DEVICE_ID_LENGTH = 128 - INCARNATION_SEPARATOR.length - INCARNATION_SUFFIX_LENGTH - 17;

const DEFAULT_DEVICE_STATUS: DeviceStatus = Object.freeze({ battery_level: null, network_quality: 5 });

export function resolveOptions(options: SyncClientOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const userId = options.userId;
  // Builds the channel name, which checks the id (RangeError naming userId).
  userSyncChannel(userId);
  const deviceId = check("deviceId", id, options.deviceId);
  if (deviceId.includes(INCARNATION_SEPARATOR)) {
    throw new RangeError(
      `options.deviceId must not contain "${INCARNATION_SEPARATOR}" (it separates incarnations)`,
    );
  }
  if (deviceId.length > MAX_DEVICE_ID_LENGTH) {
    throw new RangeError(
      `options.deviceId is ${deviceId.length} characters; at most ${MAX_DEVICE_ID_LENGTH}`,
    );
  }
  const transport = options.transport;
  if (typeof transport !== "object" || transport === null || typeof transport.publish !== "function") {
    throw new TypeError("options.transport must be a Transport");
  }
  if (transport.clientId !== deviceId) {
    // Presence events name clients by the transport's id; another id would show ghost devices.
    throw new RangeError(
      `options.transport.clientId (${JSON.stringify(transport.clientId)}) must equal options.deviceId (${JSON.stringify(deviceId)})`,
    );
  }
  if (typeof options.clock?.now !== "function") throw new TypeError("options.clock must have now()");
  if (typeof options.scheduler?.schedule !== "function") {
    throw new TypeError("options.scheduler must have schedule(delayMs, callback)");
  }
  if (typeof options.random !== "function") throw new TypeError("options.random must be a function");
  let region: string | undefined;
  if (options.region !== undefined) {
    const checked = validateChannelId(options.region);
    if (!checked.ok) throw new RangeError(`options.region ${checked.error.reason}`);
    region = checked.value;
  }
  const encryptionKey = options.encryptionKey;
  let encryptedChannels: readonly string[] = [];
  if (encryptionKey !== undefined) {
    const algorithm = (encryptionKey as { readonly algorithm?: { readonly name?: string } }).algorithm;
    if (algorithm?.name !== "AES-GCM") {
      throw new TypeError(
        "options.encryptionKey must be an AES-GCM CryptoKey (deriveUserKey / importUserKey)",
      );
    }
    encryptedChannels = options.encryptedChannels ?? DEFAULT_ENCRYPTED_CHANNELS;
    encryptedChannels.forEach((pattern, i) => {
      const checked = validateChannelPattern(pattern);
      if (!checked.ok) throw new RangeError(`options.encryptedChannels[${i}] ${checked.error.reason}`);
    });
  } else if (options.encryptedChannels !== undefined && options.encryptedChannels.length > 0) {
    throw new TypeError("options.encryptedChannels needs options.encryptionKey");
  }
  const heartbeatIntervalSec = check(
    "heartbeatIntervalSec",
    heartbeatInterval,
    options.heartbeatIntervalSec ?? 30,
  );
  const backgroundHeartbeatIntervalSec = check(
    "backgroundHeartbeatIntervalSec",
    heartbeatInterval,
    options.backgroundHeartbeatIntervalSec ?? 300,
  );
  const reconciliationDelayMs = options.reconciliationDelayMs ?? DEFAULT_RECONCILIATION_DELAY_MS;
  nonNegative("reconciliationDelayMs.min", reconciliationDelayMs.min);
  nonNegative("reconciliationDelayMs.max", reconciliationDelayMs.max);
  if (reconciliationDelayMs.max < reconciliationDelayMs.min) {
    throw new RangeError("options.reconciliationDelayMs.max must be at least min");
  }
  return {
    userId,
    deviceId,
    deviceType: check("deviceType", deviceType, options.deviceType),
    platform: check("platform", devicePlatform, options.platform),
    appVersion: check("appVersion", nonEmptyLabel, options.appVersion),
    capabilities: check("capabilities", checkDeviceCapabilities, options.capabilities),
    region,
    transport,
    clock: options.clock,
    scheduler: options.scheduler,
    random: options.random,
    encryptionKey,
    encryptedChannels,
    snapshot: options.snapshot,
    progressThrottleMs: nonNegative("progressThrottleMs", options.progressThrottleMs ?? 10_000),
    heartbeatIntervalSec,
    backgroundHeartbeatIntervalSec,
    maxDriftMs: nonNegative("maxDriftMs", options.maxDriftMs ?? HLC_DEFAULT_MAX_DRIFT_MS),
    reconciliationDelayMs,
    reconciliationWindowMs: nonNegative(
      "reconciliationWindowMs",
      options.reconciliationWindowMs ?? reconciliationDelayMs.max + 3000,
    ),
    stopTimeoutMs: nonNegative("stopTimeoutMs", options.stopTimeoutMs ?? 10_000),
    commandTtlMs: commandTtl(options.commandTtlMs ?? 5_000),
    catchUpOverlapMs: nonNegative("catchUpOverlapMs", options.catchUpOverlapMs ?? 30_000),
    deviceStatus: options.deviceStatus ?? (() => DEFAULT_DEVICE_STATUS),
  };
}

function check<T>(name: string, checker: (value: unknown) => T, value: unknown): T {
  try {
    return checker(value);
  } catch (error) {
    if (error instanceof ValidationError) {
      const where = error.path === "" ? `options.${name}` : `options.${name}.${error.path}`;
      throw new RangeError(`${where} ${error.reason}`);
    }
    throw error;
  }
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`options.${name} must be a finite non-negative number, got ${String(value)}`);
  }
  return value;
}

function commandTtl(value: number): number {
  if (nonNegative("commandTtlMs", value) === 0 || value > MAX_COMMAND_TTL_MS) {
    throw new RangeError(`options.commandTtlMs must be in (0, ${MAX_COMMAND_TTL_MS}], got ${value}`);
  }
  return value;
}
