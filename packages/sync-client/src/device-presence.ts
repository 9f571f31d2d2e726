/**
 * The presence view of the user's devices (spec 6.2, 8): crdt-core's pure tracker, fed with
 * validated device messages and transport presence events, and ticked by a timer armed for the
 * next device due to time out (DEVIATIONS 7: two of that device's own heartbeat intervals).
 * Also keeps each device's latest heartbeat, for the `devices` part of reconciliation answers.
 */
import {
  type CancelTimer,
  type DeviceHeartbeatMessage,
  type DeviceView,
  type PresenceEventMessage,
  type PresenceInput,
  type PresenceTracker,
  parseMessage,
  presenceApply,
  presenceEmpty,
  presenceTick,
  type Scheduler,
  type TransportPresenceEvent,
} from "@mg-sync/crdt-core";

export class DevicePresence {
  #tracker: PresenceTracker = presenceEmpty();
  readonly #heartbeats = new Map<string, DeviceHeartbeatMessage>();
  readonly #now: () => number;
  readonly #scheduler: Scheduler;
  readonly #onEvents: (events: readonly PresenceEventMessage[]) => void;
  #cancelTick: CancelTimer | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(
    now: () => number,
    scheduler: Scheduler,
    onEvents: (events: readonly PresenceEventMessage[]) => void,
  ) {
    this.#now = now;
    this.#scheduler = scheduler;
    this.#onEvents = onEvents;
  }

  get tracker(): PresenceTracker {
    return this.#tracker;
  }

  view(deviceId: string): DeviceView | undefined {
    return this.#tracker.devices.get(deviceId);
  }

  /** Every device heard of, by id. */
  views(): DeviceView[] {
    return [...this.#tracker.devices.values()].sort((a, b) =>
      a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
    );
  }

  /** The latest heartbeat of each device online now (for reconciliation answers). */
  onlineHeartbeats(): DeviceHeartbeatMessage[] {
    const out: DeviceHeartbeatMessage[] = [];
    for (const [deviceId, heartbeat] of this.#heartbeats) {
      if (this.#tracker.devices.get(deviceId)?.online === true) out.push(heartbeat);
    }
    return out;
  }

  /** `nowMs`: when the input was heard (default now; a history message's publish time). */
  apply(input: PresenceInput, nowMs: number = this.#now()): void {
    if ("msg_type" in input && input.msg_type === "device_heartbeat") {
      const known = this.#heartbeats.get(input.device_id);
      if (known === undefined || known.last_active <= input.last_active)
        this.#heartbeats.set(input.device_id, input);
    }
    const update = presenceApply(this.#tracker, input, nowMs);
    this.#tracker = update.tracker;
    this.#arm();
    if (update.events.length > 0) this.#onEvents(update.events);
  }

  /**
   * A transport presence event (the uuid is the device id). Its state, if any, is validated
   * like a message; `false` when the event does not validate.
   */
  applyTransportEvent(event: TransportPresenceEvent): boolean {
    const candidate: Record<string, unknown> = {
      msg_type: "presence_event",
      action: event.action,
      device_id: event.uuid,
      occupancy: event.occupancy,
      timestamp: Math.max(0, Math.floor(event.timestampMs)) * 1000,
    };
    // PubNub sends state on joins and state changes only; ignore it on the others.
    if ((event.action === "join" || event.action === "state-change") && event.state !== undefined) {
      candidate.state = event.state;
    }
    let parsed = parseMessage(candidate);
    if (!parsed.ok && event.action === "join" && candidate.state !== undefined) {
      // A join whose state we cannot read still says the device is here.
      delete candidate.state;
      parsed = parseMessage(candidate);
    }
    if (!parsed.ok || parsed.value.msg_type !== "presence_event") return false;
    this.apply(parsed.value);
    return true;
  }

  tick(): void {
    const update = presenceTick(this.#tracker, this.#now());
    this.#tracker = update.tracker;
    this.#arm();
    if (update.events.length > 0) this.#onEvents(update.events);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTick?.();
    this.#cancelTick = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #arm(): void {
    if (this.#stopped) return;
    const next = this.#tracker.nextOfflineAtMs;
    if (next === this.#armedFor) return;
    this.#cancelTick?.();
    this.#cancelTick = undefined;
    this.#armedFor = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.#cancelTick = this.#scheduler.schedule(Math.max(0, next - this.#now()), () => {
      this.#cancelTick = undefined;
      this.#armedFor = Number.POSITIVE_INFINITY;
      this.tick();
    });
  }
}
