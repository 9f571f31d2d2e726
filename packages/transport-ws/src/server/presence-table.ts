/**
 * Who is present on which channel, with their presence state. An interface so that several hub
 * processes can share it through Redis later (ARCHITECTURE.md); `MemoryPresenceTable` is the
 * in-process one.
 *
 * Liveness (DEVIATIONS 7): an occupant is held by the connections that subscribed or
 * heartbeated for it. While one of them is open (the hub pings it), it stays. When the last one
 * drops without a goodbye, it times out two of ITS OWN announced heartbeat intervals after the
 * connection was last heard from, not after one global timeout: a backgrounded TV that
 * heartbeats every 300 s keeps its place for 600 s. A graceful goodbye (unsubscribe, `leave`, a
 * normal close) is a `leave` at once.
 */
import type { TransportPresenceAction } from "@mg-sync/crdt-core";

/** A presence event as the table reports it; the hub adds the timetoken when it sends it. */
export interface PresenceChange {
  readonly channel: string;
  readonly action: TransportPresenceAction;
  readonly uuid: string;
  /** Occupants after the change. */
  readonly occupancy: number;
  readonly timestampMs: number;
  readonly state?: unknown;
}

export interface PresenceTouch {
  /** The occupant's announced heartbeat interval, when it announces one. */
  readonly intervalMs?: number;
  /** New presence state, when it sets one. */
  readonly state?: { readonly value: unknown };
}

export interface HereNowChannel {
  readonly occupancy: number;
  readonly occupants: readonly { readonly uuid: string; readonly state?: unknown }[];
}

export interface PresenceTable {
  /** A sign of life of `uuid` on `channel` through connection `holder`: a join, a state change, or nothing. */
  touch(
    channel: string,
    uuid: string,
    holder: string,
    touch: PresenceTouch,
    nowMs: number,
  ): Promise<PresenceChange | undefined>;
  /**
   * `holder` no longer holds `uuid` on `channel`. If no other connection does: `graceful` → a
   * `leave` now; otherwise the occupant times out at `lastSeenMs` + 2 intervals (see `expire`).
   */
  release(
    channel: string,
    uuid: string,
    holder: string,
    graceful: boolean,
    lastSeenMs: number,
    nowMs: number,
  ): Promise<PresenceChange | undefined>;
  /** An explicit `leave`: gone from `channel` whoever holds it. */
  leave(channel: string, uuid: string, nowMs: number): Promise<PresenceChange | undefined>;
  /** Occupants whose time ran out, removed, as `timeout` events. */
  expire(nowMs: number): Promise<readonly PresenceChange[]>;
  hereNow(channel: string, includeState: boolean): Promise<HereNowChannel>;
  /** Occupants over all channels, for metrics. */
  readonly size: number;
}

/** Spec 8.2: two missed heartbeats mean gone. */
export const MISSED_INTERVALS_BEFORE_TIMEOUT = 2;

interface Occupant {
  state: unknown;
  hasState: boolean;
  intervalMs: number;
  readonly holders: Set<string>;
  /** When it times out; `Infinity` while a holder is connected. */
  expiresAtMs: number;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class MemoryPresenceTable implements PresenceTable {
  readonly #channels = new Map<string, Map<string, Occupant>>();
  readonly #defaultIntervalMs: number;
  #size = 0;

  /** `defaultIntervalMs`: for occupants that never announced one (spec 8.1: 30 s). */
  constructor(options: { readonly defaultIntervalMs?: number } = {}) {
    const { defaultIntervalMs = 30_000 } = options;
    if (!(defaultIntervalMs > 0))
      throw new RangeError(`defaultIntervalMs must be positive, got ${defaultIntervalMs}`);
    this.#defaultIntervalMs = defaultIntervalMs;
  }

  get size(): number {
    return this.#size;
  }

  #change(
    channel: string,
    action: TransportPresenceAction,
    uuid: string,
    occupancy: number,
    nowMs: number,
    occupant: Occupant | undefined,
  ): PresenceChange {
    return occupant?.hasState === true && (action === "join" || action === "state-change")
      ? { channel, action, uuid, occupancy, timestampMs: nowMs, state: occupant.state }
      : { channel, action, uuid, occupancy, timestampMs: nowMs };
  }

  #remove(channel: string, occupants: Map<string, Occupant>, uuid: string): void {
    occupants.delete(uuid);
    this.#size--;
    if (occupants.size === 0) this.#channels.delete(channel);
  }

  async touch(
    channel: string,
    uuid: string,
    holder: string,
    touch: PresenceTouch,
    nowMs: number,
  ): Promise<PresenceChange | undefined> {
    let occupants = this.#channels.get(channel);
    if (occupants === undefined) {
      occupants = new Map();
      this.#channels.set(channel, occupants);
    }
    const occupant = occupants.get(uuid);
    if (occupant === undefined) {
      const created: Occupant = {
        state: touch.state?.value,
        hasState: touch.state !== undefined,
        intervalMs: touch.intervalMs ?? this.#defaultIntervalMs,
        holders: new Set([holder]),
        expiresAtMs: Number.POSITIVE_INFINITY,
      };
      occupants.set(uuid, created);
      this.#size++;
      return this.#change(channel, "join", uuid, occupants.size, nowMs, created);
    }
    occupant.holders.add(holder);
    occupant.expiresAtMs = Number.POSITIVE_INFINITY;
    if (touch.intervalMs !== undefined) occupant.intervalMs = touch.intervalMs;
    if (touch.state !== undefined && (!occupant.hasState || !sameJson(occupant.state, touch.state.value))) {
      occupant.state = touch.state.value;
      occupant.hasState = true;
      return this.#change(channel, "state-change", uuid, occupants.size, nowMs, occupant);
    }
    return undefined;
  }

  async release(
    channel: string,
    uuid: string,
    holder: string,
    graceful: boolean,
    lastSeenMs: number,
    nowMs: number,
  ): Promise<PresenceChange | undefined> {
    const occupants = this.#channels.get(channel);
    const occupant = occupants?.get(uuid);
    if (occupants === undefined || occupant === undefined || !occupant.holders.delete(holder))
      return undefined;
    if (occupant.holders.size > 0) return undefined;
    if (graceful) {
      this.#remove(channel, occupants, uuid);
      return this.#change(channel, "leave", uuid, occupants.size, nowMs, undefined);
    }
    occupant.expiresAtMs = lastSeenMs + MISSED_INTERVALS_BEFORE_TIMEOUT * occupant.intervalMs;
    return undefined;
  }

  async leave(channel: string, uuid: string, nowMs: number): Promise<PresenceChange | undefined> {
    const occupants = this.#channels.get(channel);
    if (occupants === undefined || !occupants.has(uuid)) return undefined;
    this.#remove(channel, occupants, uuid);
    return this.#change(channel, "leave", uuid, occupants.size, nowMs, undefined);
  }

  async expire(nowMs: number): Promise<readonly PresenceChange[]> {
    const changes: PresenceChange[] = [];
    for (const [channel, occupants] of this.#channels) {
      for (const [uuid, occupant] of occupants) {
        if (occupant.expiresAtMs > nowMs) continue;
        this.#remove(channel, occupants, uuid);
        changes.push(this.#change(channel, "timeout", uuid, occupants.size, nowMs, undefined));
      }
    }
    return changes;
  }

  async hereNow(channel: string, includeState: boolean): Promise<HereNowChannel> {
    const occupants = this.#channels.get(channel);
    if (occupants === undefined) return { occupancy: 0, occupants: [] };
    const list: { uuid: string; state?: unknown }[] = [];
    for (const [uuid, occupant] of occupants)
      list.push(includeState && occupant.hasState ? { uuid, state: occupant.state } : { uuid });
    return { occupancy: occupants.size, occupants: list };
  }
}
