/**
 * Presence bookkeeping for one keyset (research §5.5–5.9, §6, §11): who is on which channel,
 * with which state, and until when.
 *
 * - A client is present on a channel from its first heartbeat or subscribe there (`join`) until
 *   it leaves (`leave`) or goes quiet for longer than the timeout it announced (`timeout`).
 * - The timeout is the `heartbeat=` value of the client's last heartbeat; a subscribe without one
 *   keeps it (§11: resetting to 300 s would keep a vanished client "present" for five minutes).
 *   This is how DEVIATIONS 7 reaches PubNub: each device announces its own period.
 * - An open long-poll counts as presence (§5.5): the client cannot time out while one is held.
 * - Above `announceMax` occupants a channel switches to interval mode (PubNub's default is 20):
 *   one `interval` event every `intervalSeconds` with the deltas, instead of one event per change.
 */

export interface PresenceLimits {
  readonly defaultTimeoutSeconds: number;
  readonly minTimeoutSeconds: number;
  readonly maxTimeoutSeconds: number;
  readonly announceMax: number;
  readonly intervalSeconds: number;
}

export interface PresenceEventPayload {
  readonly action: "join" | "leave" | "timeout" | "state-change" | "interval";
  readonly uuid?: string;
  readonly timestamp: number;
  readonly occupancy: number;
  readonly data?: unknown;
  readonly join?: readonly string[];
  readonly leave?: readonly string[];
  readonly timeout?: readonly string[];
  readonly here_now_refresh?: boolean;
}

interface Occupant {
  lastSeenMs: number;
  openPolls: number;
}

interface IntervalDeltas {
  lastEmitMs: number;
  join: string[];
  leave: string[];
  timeout: string[];
}

export class PresenceRegistry {
  readonly #channels = new Map<string, Map<string, Occupant>>();
  readonly #states = new Map<string, Map<string, unknown>>();
  readonly #timeouts = new Map<string, number>();
  readonly #intervals = new Map<string, IntervalDeltas>();
  readonly #limits: PresenceLimits;
  readonly #now: () => number;
  readonly #emit: (channel: string, payload: PresenceEventPayload) => void;

  constructor(
    limits: PresenceLimits,
    now: () => number,
    emit: (channel: string, payload: PresenceEventPayload) => void,
  ) {
    this.#limits = limits;
    this.#now = now;
    this.#emit = emit;
  }

  /** The timeout in force for `uuid`, in seconds. */
  timeoutOf(uuid: string): number {
    return this.#timeouts.get(uuid) ?? this.#limits.defaultTimeoutSeconds;
  }

  /** Records an announced `heartbeat=` value, clamped to the keyset's bounds. */
  announceTimeout(uuid: string, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds <= 0) return;
    const clamped = Math.min(
      Math.max(Math.floor(seconds), this.#limits.minTimeoutSeconds),
      this.#limits.maxTimeoutSeconds,
    );
    this.#timeouts.set(uuid, clamped);
  }

  #timestamp(): number {
    return Math.floor(this.#now() / 1000);
  }

  #announce(occupancy: number): boolean {
    return occupancy <= this.#limits.announceMax;
  }

  #delta(channel: string, kind: "join" | "leave" | "timeout", uuid: string, occupancy: number): void {
    if (this.#announce(occupancy) && !this.#intervals.has(channel)) {
      const data = kind === "join" ? this.#states.get(channel)?.get(uuid) : undefined;
      this.#emit(channel, {
        action: kind,
        uuid,
        timestamp: this.#timestamp(),
        occupancy,
        ...(data !== undefined ? { data } : {}),
      });
      return;
    }
    let deltas = this.#intervals.get(channel);
    if (deltas === undefined) {
      deltas = { lastEmitMs: this.#now(), join: [], leave: [], timeout: [] };
      this.#intervals.set(channel, deltas);
    }
    deltas[kind].push(uuid);
  }

  /** A heartbeat or subscribe from `uuid` on `channels`: joins where it was absent. */
  touch(uuid: string, channels: Iterable<string>, pollDelta: 0 | 1 | -1 = 0): void {
    const now = this.#now();
    for (const channel of channels) {
      let occupants = this.#channels.get(channel);
      if (occupants === undefined) {
        occupants = new Map();
        this.#channels.set(channel, occupants);
      }
      const existing = occupants.get(uuid);
      if (existing !== undefined) {
        existing.lastSeenMs = now;
        existing.openPolls = Math.max(0, existing.openPolls + pollDelta);
        continue;
      }
      if (pollDelta === -1) continue; // a poll that ended after its client left: not a join
      occupants.set(uuid, { lastSeenMs: now, openPolls: pollDelta === 1 ? 1 : 0 });
      this.#delta(channel, "join", uuid, occupants.size);
    }
  }

  #remove(uuid: string, channel: string, kind: "leave" | "timeout"): void {
    const occupants = this.#channels.get(channel);
    if (occupants === undefined || !occupants.delete(uuid)) return;
    this.#states.get(channel)?.delete(uuid);
    if (occupants.size === 0) this.#channels.delete(channel);
    this.#delta(channel, kind, uuid, occupants.size);
  }

  leave(uuid: string, channels: Iterable<string>): void {
    for (const channel of channels) this.#remove(uuid, channel, "leave");
  }

  /** Stores `uuid`'s state on `channel`; `announce` emits `state-change` if it is present there. */
  setState(uuid: string, channel: string, state: unknown, announce = true): void {
    let states = this.#states.get(channel);
    if (states === undefined) {
      states = new Map();
      this.#states.set(channel, states);
    }
    states.set(uuid, state);
    const occupants = this.#channels.get(channel);
    if (!announce || occupants === undefined || !occupants.has(uuid)) return;
    const occupancy = occupants.size;
    if (this.#announce(occupancy) && !this.#intervals.has(channel))
      this.#emit(channel, {
        action: "state-change",
        uuid,
        timestamp: this.#timestamp(),
        occupancy,
        data: state,
      });
  }

  getState(uuid: string, channel: string): unknown {
    return this.#states.get(channel)?.get(uuid);
  }

  occupants(channel: string): string[] {
    return [...(this.#channels.get(channel)?.keys() ?? [])];
  }

  /** Channels `uuid` is present on. */
  whereNow(uuid: string): string[] {
    const out: string[] = [];
    for (const [channel, occupants] of this.#channels) if (occupants.has(uuid)) out.push(channel);
    return out;
  }

  /** Every channel with at least one occupant. */
  occupiedChannels(): string[] {
    return [...this.#channels.keys()];
  }

  /** Times out the quiet, then emits due interval events. Called by the emulator's sweep timer. */
  sweep(): void {
    const now = this.#now();
    for (const [channel, occupants] of [...this.#channels]) {
      for (const [uuid, occupant] of [...occupants]) {
        if (occupant.openPolls > 0) continue;
        if (now - occupant.lastSeenMs > this.timeoutOf(uuid) * 1000) this.#remove(uuid, channel, "timeout");
      }
    }
    for (const [channel, deltas] of [...this.#intervals]) {
      if (now - deltas.lastEmitMs < this.#limits.intervalSeconds * 1000) continue;
      const occupancy = this.#channels.get(channel)?.size ?? 0;
      this.#emit(channel, {
        action: "interval",
        timestamp: this.#timestamp(),
        occupancy,
        ...(deltas.join.length > 0 ? { join: deltas.join } : {}),
        ...(deltas.leave.length > 0 ? { leave: deltas.leave } : {}),
        ...(deltas.timeout.length > 0 ? { timeout: deltas.timeout } : {}),
        here_now_refresh: false,
      });
      if (occupancy <= this.#limits.announceMax) this.#intervals.delete(channel);
      else this.#intervals.set(channel, { lastEmitMs: now, join: [], leave: [], timeout: [] });
    }
  }
}
