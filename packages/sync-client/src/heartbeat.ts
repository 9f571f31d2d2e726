/**
 * This device's side of presence (spec 6.2, 8.1–8.2): what its player is doing, the presence
 * state that says so (locally and through the transport), and the heartbeat loop, every 30 s in
 * the foreground and 300 s in the background (DEVIATIONS 7: peers time a device out after two
 * of the intervals it announced). device-presence.ts is the other devices' side.
 */
import {
  activityEquals,
  type CancelTimer,
  type DeviceActivity,
  type DeviceHeartbeatMessage,
  type DevicePresenceState,
  type Hlc,
  parseMessage,
  type Scheduler,
  type Transport,
} from "@mg-sync/crdt-core";
import type { ClientCounters } from "./client-counters.js";
import type { DevicePresence } from "./device-presence.js";
import type { ResolvedOptions } from "./options.js";
import type { Outbox } from "./outbox.js";

/** What the heartbeat loop needs from its client. */
export interface HeartbeatHost {
  readonly deviceId: string;
  readonly options: Pick<
    ResolvedOptions,
    | "deviceType"
    | "platform"
    | "appVersion"
    | "capabilities"
    | "deviceStatus"
    | "heartbeatIntervalSec"
    | "backgroundHeartbeatIntervalSec"
  >;
  readonly transport: Pick<Transport, "heartbeat" | "setState">;
  readonly scheduler: Scheduler;
  readonly devicesChannel: string;
  readonly outbox: Pick<Outbox, "enqueue">;
  /** Our own entry in the presence view. */
  readonly presence: Pick<DevicePresence, "apply">;
  readonly count: Pick<ClientCounters, "heartbeatsSent">;
  tick(): Hlc;
  isLive(): boolean;
  /** Runs a transport call whose failure only counts as a transport error. */
  bestEffort(call: () => Promise<unknown>): void;
  fail(error: unknown): void;
}

export class HeartbeatLoop {
  readonly #host: HeartbeatHost;
  #heartbeatSec: number;
  #backgrounded = false;
  #cancelHeartbeat: CancelTimer | undefined;
  /** What the player is doing (Watching / Paused / Browsing); presence says Idle in the background. */
  #playback: DeviceActivity = "Browsing";
  #presenceState: DevicePresenceState | undefined;

  constructor(host: HeartbeatHost) {
    this.#host = host;
    this.#heartbeatSec = host.options.heartbeatIntervalSec;
  }

  /** The interval we announce now (foreground or background). */
  get intervalSec(): number {
    return this.#heartbeatSec;
  }

  get backgrounded(): boolean {
    return this.#backgrounded;
  }

  get playback(): DeviceActivity {
    return this.#playback;
  }

  setPlayback(activity: DeviceActivity): void {
    if (activityEquals(this.#playback, activity)) return;
    this.#playback = activity;
    if (!this.#backgrounded) this.publishPresenceState();
  }

  /** Our presence state (spec 8.1), locally and through the transport. */
  publishPresenceState(): void {
    const activity: DeviceActivity = this.#backgrounded ? "Idle" : this.#playback;
    const state: DevicePresenceState = {
      device_type: this.#host.options.deviceType,
      activity,
      last_update: this.#host.tick(),
      app_version: this.#host.options.appVersion,
    };
    this.#presenceState = state;
    this.#host.presence.apply({ kind: "set_state", device_id: this.#host.deviceId, state });
    if (this.#host.isLive()) {
      this.#host.bestEffort(() =>
        this.#host.transport.setState({ channels: [this.#host.devicesChannel], state }),
      );
    }
  }

  /**
   * Starts the loop once the device has announced itself (its join message carries
   * `intervalSec`): the transport learns our interval and state now, our first heartbeat
   * message goes one interval later.
   */
  start(): void {
    this.#transportHeartbeat();
    this.#arm();
  }

  stop(): void {
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = undefined;
  }

  /** A heartbeat now, as a message and through the transport; the timer keeps its schedule. */
  send(): void {
    const o = this.#host.options;
    const status = o.deviceStatus();
    const candidate: DeviceHeartbeatMessage = {
      msg_type: "device_heartbeat",
      device_id: this.#host.deviceId,
      device_type: o.deviceType,
      capabilities: o.capabilities,
      app_version: o.appVersion,
      platform: o.platform,
      last_active: this.#host.tick(),
      battery_level: status.battery_level ?? null,
      network_quality: status.network_quality,
      heartbeat_interval: this.#heartbeatSec,
    };
    const parsed = parseMessage(candidate);
    if (!parsed.ok) {
      this.#host.fail(new RangeError(`deviceStatus(): ${parsed.error.path} ${parsed.error.reason}`));
      return;
    }
    this.#host.count.heartbeatsSent++;
    // Heartbeats are liveness, not history (spec 9.1 keeps 25 device messages: joins and
    // leaves are worth them); a newer queued heartbeat replaces an unsent older one.
    this.#host.outbox.enqueue(this.#host.devicesChannel, parsed.value, {
      store: false,
      replaceKey: "heartbeat",
    });
    this.#transportHeartbeat();
  }

  /** `client.background()` (the client checks it is writable first). */
  background(): void {
    if (this.#backgrounded) return;
    this.#backgrounded = true;
    this.#heartbeatSec = this.#host.options.backgroundHeartbeatIntervalSec;
    this.publishPresenceState();
    if (this.#host.isLive()) {
      // Announce the longer interval now, or peers would time us out after 2 × 30 s (DEVIATIONS 7).
      this.send();
      this.#arm();
    }
  }

  /**
   * `client.foreground()` (the client checks it is writable first). True when the device came
   * back while live and announced the shorter interval: the client then reconciles.
   */
  foreground(): boolean {
    if (!this.#backgrounded) return false;
    this.#backgrounded = false;
    this.#heartbeatSec = this.#host.options.heartbeatIntervalSec;
    this.publishPresenceState();
    if (!this.#host.isLive()) return false;
    this.send();
    this.#arm();
    return true;
  }

  #transportHeartbeat(): void {
    const state = this.#presenceState;
    this.#host.bestEffort(() =>
      this.#host.transport.heartbeat({
        channels: [this.#host.devicesChannel],
        intervalSeconds: this.#heartbeatSec,
        ...(state === undefined ? {} : { state }),
      }),
    );
  }

  #arm(): void {
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = this.#host.scheduler.schedule(this.#heartbeatSec * 1000, () => {
      this.#cancelHeartbeat = undefined;
      if (!this.#host.isLive()) return;
      this.send();
      this.#arm();
    });
  }
}
