/**
 * Causal context: the set of every dot (replica, counter) a replica has seen, kept as a
 * version vector plus a "cloud" of dots beyond it (Almeida, Shoker, Baquero, "Delta state
 * replicated data types", §5; Baquero's `dotcontext` in delta-enabled-crdts).
 *
 * `vv[r] = n` means EVERY dot (r, 1..n) has been seen. The cloud holds seen dots that do not
 * extend the vector contiguously. Compaction moves a cloud dot into the vector only when it is
 * exactly `vv[r] + 1`: folding a gap into the vector (js-delta-crdts' `max`) would claim that
 * an unseen add was seen, and a late add with that dot would then be dropped as removed
 * (crdt-anchors §2.5).
 *
 * Functions named `…Into` mutate their first argument and are for owners of a state; every
 * other function is pure.
 */

import { id } from "./messages/common.js";
import { atPath, fail, integer, isPlainObject, setOwn, ValidationError } from "./schema.js";

export type Dot = readonly [replica: string, counter: number];

export interface CausalContext {
  /** replica → n: dots (replica, 1..n) are all seen. Never holds 0. */
  readonly vv: Map<string, number>;
  /** replica → counters seen beyond `vv` (each > vv + 1 after compaction). Never holds empty sets. */
  readonly cloud: Map<string, Set<number>>;
}

/** JSON form: `{ "vv": { "tv-1": 5 }, "cloud": { "phone": [7, 9] } }`, keys and counters sorted. */
export interface CausalContextJSON {
  readonly vv: Record<string, number>;
  readonly cloud: Record<string, number[]>;
}

export function ccEmpty(): CausalContext {
  return { vv: new Map(), cloud: new Map() };
}

export function ccClone(cc: CausalContext): CausalContext {
  const cloud = new Map<string, Set<number>>();
  for (const [replica, counters] of cc.cloud) cloud.set(replica, new Set(counters));
  return { vv: new Map(cc.vv), cloud };
}

export function ccHas(cc: CausalContext, replica: string, counter: number): boolean {
  if (counter <= (cc.vv.get(replica) ?? 0)) return true;
  const cloud = cc.cloud.get(replica);
  return cloud?.has(counter) === true;
}

/** The largest counter of `replica` seen so far (0 if none). */
export function ccMax(cc: CausalContext, replica: string): number {
  let max = cc.vv.get(replica) ?? 0;
  const cloud = cc.cloud.get(replica);
  if (cloud !== undefined) for (const counter of cloud) if (counter > max) max = counter;
  return max;
}

/** The dot `replica` mints next: one past every counter of it seen, so it is never reused. */
export function ccNextDot(cc: CausalContext, replica: string): Dot {
  return [replica, ccMax(cc, replica) + 1];
}

/** Adds one dot. */
export function ccAddInto(cc: CausalContext, replica: string, counter: number): void {
  const base = cc.vv.get(replica) ?? 0;
  if (counter <= base) return;
  if (counter === base + 1) {
    cc.vv.set(replica, counter);
    compactReplica(cc, replica);
    return;
  }
  let cloud = cc.cloud.get(replica);
  if (cloud === undefined) {
    cloud = new Set();
    cc.cloud.set(replica, cloud);
  }
  cloud.add(counter);
}

/** Adds the dots (replica, from..to), inclusive. */
export function ccAddRangeInto(cc: CausalContext, replica: string, from: number, to: number): void {
  const base = cc.vv.get(replica) ?? 0;
  if (to <= base) return;
  if (from <= base + 1) {
    cc.vv.set(replica, to);
    compactReplica(cc, replica);
    return;
  }
  for (let counter = from; counter <= to; counter++) ccAddInto(cc, replica, counter);
}

/** target := target ∪ other. */
export function ccJoinInto(target: CausalContext, other: CausalContext): void {
  for (const [replica, n] of other.vv) ccAddRangeInto(target, replica, 1, n);
  for (const [replica, counters] of other.cloud)
    for (const counter of counters) ccAddInto(target, replica, counter);
}

export function ccJoin(a: CausalContext, b: CausalContext): CausalContext {
  const out = ccClone(a);
  ccJoinInto(out, b);
  return out;
}

/** How many dots the context holds (the vector counts every dot it covers). */
export function ccSize(cc: CausalContext): number {
  let size = 0;
  for (const n of cc.vv.values()) size += n;
  for (const counters of cc.cloud.values()) size += counters.size;
  return size;
}

/** Calls `visit` for every dot of the context, vector first. */
export function ccForEachDot(cc: CausalContext, visit: (replica: string, counter: number) => void): void {
  for (const [replica, n] of cc.vv) for (let counter = 1; counter <= n; counter++) visit(replica, counter);
  for (const [replica, counters] of cc.cloud) for (const counter of counters) visit(replica, counter);
}

/**
 * The context as maximal runs of consecutive counters per replica, sorted:
 * `{ tv: [[1, 5], [7, 7]] }`. The compact form a reconciliation chunk carries.
 */
export function ccRanges(cc: CausalContext): Map<string, Array<[from: number, to: number]>> {
  const out = new Map<string, Array<[number, number]>>();
  const replicas = new Set([...cc.vv.keys(), ...cc.cloud.keys()]);
  for (const replica of replicas) {
    const ranges: Array<[number, number]> = [];
    const base = cc.vv.get(replica) ?? 0;
    if (base > 0) ranges.push([1, base]);
    const cloud = [...(cc.cloud.get(replica) ?? [])].sort((x, y) => x - y);
    for (const counter of cloud) {
      const last = ranges[ranges.length - 1];
      if (last !== undefined && counter === last[1] + 1) last[1] = counter;
      else ranges.push([counter, counter]);
    }
    out.set(replica, ranges);
  }
  return out;
}

export function ccEquals(a: CausalContext, b: CausalContext): boolean {
  if (a.vv.size !== b.vv.size || a.cloud.size !== b.cloud.size) return false;
  for (const [replica, n] of a.vv) if (b.vv.get(replica) !== n) return false;
  for (const [replica, counters] of a.cloud) {
    const other = b.cloud.get(replica);
    if (other === undefined || other.size !== counters.size) return false;
    for (const counter of counters) if (!other.has(counter)) return false;
  }
  return true;
}

/** Moves cloud dots of `replica` into the vector while they extend it contiguously. */
function compactReplica(cc: CausalContext, replica: string): void {
  const cloud = cc.cloud.get(replica);
  if (cloud === undefined) return;
  let base = cc.vv.get(replica) ?? 0;
  while (cloud.delete(base + 1)) base++;
  for (const counter of cloud) if (counter <= base) cloud.delete(counter);
  if (base > 0) cc.vv.set(replica, base);
  if (cloud.size === 0) cc.cloud.delete(replica);
}

export function ccToJSON(cc: CausalContext): CausalContextJSON {
  const vv: Record<string, number> = {};
  for (const replica of [...cc.vv.keys()].sort()) setOwn(vv, replica, cc.vv.get(replica)!);
  const cloud: Record<string, number[]> = {};
  for (const replica of [...cc.cloud.keys()].sort()) {
    setOwn(
      cloud,
      replica,
      [...cc.cloud.get(replica)!].sort((x, y) => x - y),
    );
  }
  return { vv, cloud };
}

const positiveCounter = integer({ min: 1 });

/**
 * Validates and builds a context. Accepts non-canonical input (cloud dots covered by the
 * vector, or contiguous with it) and normalises it; throws `ValidationError` naming the path.
 */
export function ccFromJSON(json: unknown): CausalContext {
  if (!isPlainObject(json)) fail("expected an object with vv and cloud");
  const cc = ccEmpty();
  const vv = json.vv;
  if (!isPlainObject(vv)) throw new ValidationError("expected an object of replica → counter", ["vv"]);
  for (const replica of Object.keys(vv)) {
    atPath(["vv", replica], id, replica);
    const n = atPath(["vv", replica], positiveCounter, vv[replica]);
    ccAddRangeInto(cc, replica, 1, n);
  }
  const cloud = json.cloud ?? {};
  if (!isPlainObject(cloud)) throw new ValidationError("expected an object of replica → counters", ["cloud"]);
  for (const replica of Object.keys(cloud)) {
    atPath(["cloud", replica], id, replica);
    const counters = cloud[replica];
    if (!Array.isArray(counters))
      throw new ValidationError("expected an array of counters", ["cloud", replica]);
    counters.forEach((value, i) => {
      ccAddInto(cc, replica, atPath(["cloud", replica, i], positiveCounter, value));
    });
  }
  return cc;
}
