/**
 * The workloads' inputs, generated once from a seed and handed to every system alike (issue 8
 * §1). Each device's operations carry the physical time the device read and the HLC timestamp
 * it got, so peers without our clock still store the same `added_at` values; mg-sync and the
 * baseline recompute the timestamps themselves as part of a local update.
 */
import { type ContentSnippet, hlcTick } from "./core-api.js";

export type DeviceType = "TV" | "Phone" | "Web";
export type PlaybackState = "Playing" | "Paused" | "Stopped";

export interface Device {
  readonly index: number;
  readonly id: string;
  readonly type: DeviceType;
  /** The device's OR-Set dot replica (one per incarnation, docs/decisions.md). */
  readonly replica: string;
  /** Automerge actor id (hex). */
  readonly actor: string;
}

export const DEVICES: readonly Device[] = [
  { index: 0, id: "tv-living-room", type: "TV", replica: "tv-living-room.1", actor: "a1".repeat(16) },
  { index: 1, id: "phone-anna", type: "Phone", replica: "phone-anna.1", actor: "b2".repeat(16) },
  { index: 2, id: "web-anna", type: "Web", replica: "web-anna.1", actor: "c3".repeat(16) },
];

export interface ProgressOp {
  readonly title: string;
  readonly progress: number;
  readonly duration: number;
  readonly state: PlaybackState;
  readonly phys: number;
  readonly ts: number;
}

export interface WatchlistOp {
  readonly title: string;
  readonly add: boolean;
  readonly snippet: ContentSnippet;
  readonly phys: number;
  readonly ts: number;
}

/** Three devices' operation lists and the order a fourth replica receives them in. */
export interface Stream<Op> {
  /** `ops[d]`: device d's operations, in the order it made them. */
  readonly ops: readonly (readonly Op[])[];
  /** `order[k]`: the device whose next message is the k-th one delivered (each device's order kept). */
  readonly order: Uint8Array;
}

/** The first `n` delivered messages, and exactly the device operations that produced them. */
export function sliceStream<Op>(stream: Stream<Op>, n: number): Stream<Op> {
  const order = stream.order.subarray(0, Math.min(n, stream.order.length));
  const counts = DEVICES.map(() => 0);
  for (const d of order) counts[d]!++;
  return { ops: stream.ops.map((ops, d) => ops.slice(0, counts[d])), order };
}

export function streamLength(stream: Stream<unknown>): number {
  return stream.order.length;
}

/** Puts per-device outputs (`perDevice[d][j]`: device d's j-th) in delivery order. */
export function interleave<T>(stream: Stream<unknown>, perDevice: readonly (readonly T[])[]): T[] {
  const next = DEVICES.map(() => 0);
  const out = new Array<T>(stream.order.length);
  for (let k = 0; k < stream.order.length; k++) {
    const d = stream.order[k]!;
    out[k] = perDevice[d]![next[d]!++]!;
  }
  return out;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 2024-12-06T16:00:00Z, the spec's example timestamp. */
export const START_MS = 1_733_500_800_000;
const STATES: readonly PlaybackState[] = ["Playing", "Paused", "Stopped"];

export interface Catalog {
  readonly ids: readonly string[];
  readonly durations: readonly number[];
  readonly snippets: readonly ContentSnippet[];
}

export function catalog(titles: number, seed: number): Catalog {
  const random = rng(seed ^ 0xca7a);
  const ids: string[] = [];
  const durations: number[] = [];
  const snippets: ContentSnippet[] = [];
  for (let i = 0; i < titles; i++) {
    ids.push(`tmdb:${100_000 + i}`);
    durations.push(1200 + Math.floor(random() * 9600));
    snippets.push({
      title: `Title ${i}`,
      year: 1950 + (i % 75),
      content_type: i % 3 === 0 ? "TVShow" : "Movie",
    });
  }
  return { ids, durations, snippets };
}

/** Each device's clock reads 0–3 ms later per operation, so same-millisecond ticks happen. */
function clock(random: () => number): { next(): { phys: number; ts: number } } {
  let phys = START_MS;
  let ts = 0;
  return {
    next() {
      const r = random();
      phys += r < 0.5 ? 0 : Math.ceil((r - 0.5) * 6);
      ts = hlcTick(ts, phys);
      return { phys, ts };
    },
  };
}

/** Uniformly random interleaving that keeps each device's own order. */
function deliveryOrder(lengths: readonly number[], random: () => number): Uint8Array {
  const left = [...lengths];
  let total = left.reduce((a, b) => a + b, 0);
  const order = new Uint8Array(total);
  for (let k = 0; total > 0; k++, total--) {
    let pick = Math.floor(random() * total);
    let d = 0;
    while (pick >= left[d]!) pick -= left[d++]!;
    left[d]!--;
    order[k] = d;
  }
  return order;
}

/** W1: each device writes `perDevice` progress updates over the catalog (LWW). */
export function progressStream(cat: Catalog, perDevice: number, seed: number): Stream<ProgressOp> {
  const ops = DEVICES.map((device) => {
    const random = rng(seed ^ (0x1000 + device.index));
    const time = clock(random);
    const out: ProgressOp[] = [];
    for (let i = 0; i < perDevice; i++) {
      const t = Math.floor(random() * cat.ids.length);
      const duration = cat.durations[t]!;
      const { phys, ts } = time.next();
      out.push({
        title: cat.ids[t]!,
        progress: Math.floor(random() * (duration + 1)),
        duration,
        state: STATES[Math.floor(random() * STATES.length)]!,
        phys,
        ts,
      });
    }
    return out;
  });
  return {
    ops,
    order: deliveryOrder(
      ops.map((o) => o.length),
      rng(seed ^ 0x0de1),
    ),
  };
}

/**
 * W2: each device does `perDevice` operations, 60 % adds of a random title and 40 % removes of
 * a title on its own list (an add when the list is empty), so every remove removes something
 * in every system.
 */
export function watchlistStream(cat: Catalog, perDevice: number, seed: number): Stream<WatchlistOp> {
  const ops = DEVICES.map((device) => {
    const random = rng(seed ^ (0x2000 + device.index));
    const time = clock(random);
    const present: number[] = [];
    const position = new Map<number, number>();
    const out: WatchlistOp[] = [];
    for (let i = 0; i < perDevice; i++) {
      const add = present.length === 0 || random() < 0.6;
      let t: number;
      if (add) {
        t = Math.floor(random() * cat.ids.length);
        if (!position.has(t)) {
          position.set(t, present.length);
          present.push(t);
        }
      } else {
        const p = Math.floor(random() * present.length);
        t = present[p]!;
        const last = present.pop()!;
        if (last !== t) {
          present[p] = last;
          position.set(last, p);
        }
        position.delete(t);
      }
      const { phys, ts } = time.next();
      out.push({ title: cat.ids[t]!, add, snippet: cat.snippets[t]!, phys, ts });
    }
    return out;
  });
  return {
    ops,
    order: deliveryOrder(
      ops.map((o) => o.length),
      rng(seed ^ 0x0de2),
    ),
  };
}

/** W4: every title of the catalog in progress and in the watchlist, written by the devices in turn. */
export function fullStateStreams(
  cat: Catalog,
  seed: number,
): { progress: Stream<ProgressOp>; watchlist: Stream<WatchlistOp> } {
  const random = rng(seed ^ 0x4000);
  const times = DEVICES.map(() => clock(random));
  const progress: ProgressOp[][] = DEVICES.map(() => []);
  const watchlist: WatchlistOp[][] = DEVICES.map(() => []);
  const order = new Uint8Array(cat.ids.length);
  for (let i = 0; i < cat.ids.length; i++) {
    const d = i % DEVICES.length;
    order[i] = d;
    const duration = cat.durations[i]!;
    const p = times[d]!.next();
    progress[d]!.push({
      title: cat.ids[i]!,
      progress: Math.floor(random() * (duration + 1)),
      duration,
      state: STATES[i % STATES.length]!,
      phys: p.phys,
      ts: p.ts,
    });
    const w = times[d]!.next();
    watchlist[d]!.push({ title: cat.ids[i]!, add: true, snippet: cat.snippets[i]!, phys: w.phys, ts: w.ts });
  }
  return { progress: { ops: progress, order }, watchlist: { ops: watchlist, order } };
}

/** W5: physical readings (0–2 ms apart) and remote timestamps a little behind or ahead of them. */
export function hlcInputs(n: number, seed: number): { phys: Float64Array; remote: Float64Array } {
  const random = rng(seed ^ 0x5000);
  const phys = new Float64Array(n);
  const remote = new Float64Array(n);
  let p = START_MS;
  for (let i = 0; i < n; i++) {
    p += Math.floor(random() * 3);
    phys[i] = p;
    remote[i] = (p + Math.floor(random() * 20) - 10) * 1000 + Math.floor(random() * 5);
  }
  return { phys, remote };
}
