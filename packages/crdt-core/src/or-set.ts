/**
 * Add-wins observed-remove set, in delta-state form (Almeida, Shoker, Baquero, "Delta state
 * replicated data types", AWSet; Bieniusa et al., "An optimized conflict-free replicated set").
 *
 * A state is a dot store (element → the dots of the adds that are live) plus a causal
 * context (every dot ever seen). An add mints a fresh dot; a remove mints nothing and its delta
 * holds no entries, only the element's dots it observed, in its context. The causal join keeps
 * a dot that both sides hold, or that one side holds and the other has never seen; a dot one
 * side has seen and no longer holds was removed. So a removed element leaves no tombstone
 * (DEVIATIONS 5), and an add the remover had not observed survives (DEVIATIONS 4).
 *
 * Each add may carry a JSON payload (the watchlist's content snippet); an element's payload is
 * the one of its greatest dot, by (counter, replica) — a total order, not "latest in time".
 *
 * Mutators are δ-mutators: `orSetAddDelta` / `orSetRemoveDelta` only compute the delta. The one
 * join, `orSetJoinInto`, applies a delta (or a whole state) to a state its caller owns; the pure
 * `orSetAdd`, `orSetRemove` and `orSetJoin` run it on a copy.
 */
import {
  type CausalContext,
  type CausalContextJSON,
  ccAddInto,
  ccClone,
  ccEmpty,
  ccEquals,
  ccFromJSON,
  ccHas,
  ccJoinInto,
  ccNextDot,
  ccSize,
  ccToJSON,
  type Dot,
} from "./causal-context.js";
import { lwwValueCompare } from "./lww.js";
import { id } from "./messages/common.js";
import {
  atPath,
  type Check,
  fail,
  integer,
  isPlainObject,
  json as jsonValue,
  setOwn,
  string,
  ValidationError,
} from "./schema.js";

/** One live add: its dot and the payload it carried (absent when the add had none). */
export interface OrSetDot {
  readonly replica: string;
  readonly counter: number;
  readonly payload?: unknown;
}

export interface OrSet {
  /** element → its live dots (usually one). Arrays are never mutated, only replaced. */
  readonly entries: Map<string, readonly OrSetDot[]>;
  readonly context: CausalContext;
  /** replica → counter → element: finds a dot's element without scanning the entries. */
  readonly index: Map<string, Map<number, string>>;
}

/** JSON form: `{ "entries": { "tmdb:550": [["tv-1", 3, {…payload}]] }, "context": {…} }`. */
export interface OrSetJSON {
  readonly entries: Record<string, Array<[string, number] | [string, number, unknown]>>;
  readonly context: CausalContextJSON;
}

/** What a join changed, for a UI to redraw: an element appeared, vanished, or its payload changed. */
export interface OrSetChange {
  readonly element: string;
  readonly kind: "added" | "removed" | "updated";
}

/** One dot under two different elements breaks every law of the join (crdt-anchors §2.4.4). */
export class DoubleSpentDotError extends ValidationError {
  override readonly name = "DoubleSpentDotError";
  readonly dot: Dot;
  readonly elements: readonly [string, string];

  constructor(dot: Dot, first: string, second: string) {
    super(
      `dot [${JSON.stringify(dot[0])}, ${dot[1]}] is under both ${JSON.stringify(first)} and ${JSON.stringify(second)}`,
      ["entries", second],
    );
    this.dot = dot;
    this.elements = [first, second];
  }
}

export function orSetEmpty(): OrSet {
  return { entries: new Map(), context: ccEmpty(), index: new Map() };
}

export function orSetClone(set: OrSet): OrSet {
  const index = new Map<string, Map<number, string>>();
  for (const [replica, counters] of set.index) index.set(replica, new Map(counters));
  return { entries: new Map(set.entries), context: ccClone(set.context), index };
}

export function orSetHas(set: OrSet, element: string): boolean {
  return set.entries.has(element);
}

/** The elements present, sorted by UTF-16 code units. */
export function orSetValues(set: OrSet): string[] {
  return [...set.entries.keys()].sort();
}

export function orSetSize(set: OrSet): number {
  return set.entries.size;
}

/** The payload of the element's greatest dot; undefined if absent or added without one. */
export function orSetPayload(set: OrSet, element: string): unknown {
  const dots = set.entries.get(element);
  return dots === undefined ? undefined : greatestDot(dots).payload;
}

/** The element's live dots (empty if absent). */
export function orSetDots(set: OrSet, element: string): readonly OrSetDot[] {
  return set.entries.get(element) ?? [];
}

/** δ-mutator: the delta that adds `element` with a fresh dot of `replica` and retires its older dots. */
export function orSetAddDelta(set: OrSet, element: string, replica: string, payload?: unknown): OrSet {
  const [, counter] = ccNextDot(set.context, replica);
  const dot: OrSetDot = payload === undefined ? { replica, counter } : { replica, counter, payload };
  const delta = orSetEmpty();
  delta.entries.set(element, [dot]);
  indexDot(delta.index, replica, counter, element);
  ccAddInto(delta.context, replica, counter);
  for (const old of set.entries.get(element) ?? []) ccAddInto(delta.context, old.replica, old.counter);
  return delta;
}

/** δ-mutator: the delta that removes exactly the dots of `element` this replica has observed. */
export function orSetRemoveDelta(set: OrSet, element: string): OrSet {
  const delta = orSetEmpty();
  for (const old of set.entries.get(element) ?? []) ccAddInto(delta.context, old.replica, old.counter);
  return delta;
}

export function orSetAdd(
  set: OrSet,
  element: string,
  replica: string,
  payload?: unknown,
): { state: OrSet; delta: OrSet } {
  const delta = orSetAddDelta(set, element, replica, payload);
  return { state: orSetJoin(set, delta), delta };
}

export function orSetRemove(set: OrSet, element: string): { state: OrSet; delta: OrSet } {
  const delta = orSetRemoveDelta(set, element);
  return { state: orSetJoin(set, delta), delta };
}

/** The least upper bound of two states; also how a delta is applied. Pure. */
export function orSetJoin(a: OrSet, b: OrSet): OrSet {
  const out = orSetClone(a);
  orSetJoinInto(out, b);
  return out;
}

/**
 * Joins `other` (a delta or a whole state) into `target`, which the caller owns, and returns
 * what changed. Throws `DoubleSpentDotError` before touching `target` if a dot sits under
 * different elements on the two sides.
 */
export function orSetJoinInto(target: OrSet, other: OrSet): OrSetChange[] {
  // Validate first, so a bad delta never leaves `target` half-joined.
  for (const [element, dots] of other.entries) {
    for (const dot of dots) {
      const existing = target.index.get(dot.replica)?.get(dot.counter);
      if (existing !== undefined && existing !== element) {
        throw new DoubleSpentDotError([dot.replica, dot.counter], existing, element);
      }
    }
  }

  // element → its payload before the join (absent: NOT_PRESENT); made on the first change, so
  // a join that changes nothing (a duplicate delta) allocates nothing.
  let touched: Touched | undefined;

  // 1. Dots `other` has seen and no longer holds were removed there.
  touched = removeSeenDots(target, other, touched);

  // 2. Dots `other` holds that `target` has never seen are new (one `target` saw and lacks was removed).
  for (const [element, dots] of other.entries) {
    for (const dot of dots) {
      if (target.index.get(dot.replica)?.has(dot.counter)) continue;
      if (ccHas(target.context, dot.replica, dot.counter)) continue;
      touched = remember(target, touched, element);
      const current = target.entries.get(element);
      target.entries.set(element, current === undefined ? [dot] : [...current, dot]);
      indexDot(target.index, dot.replica, dot.counter, element);
    }
  }

  ccJoinInto(target.context, other.context);

  const changes: OrSetChange[] = [];
  if (touched === undefined) return changes;
  for (const [element, before] of touched) {
    const change = changeOf(element, before, target.entries.get(element));
    if (change !== undefined) changes.push(change);
  }
  return changes;
}

/**
 * Internal (not re-exported by the package): joins into `target` the delta ONE watchlist
 * message makes, without building it. That delta holds `element ↦ {dot, payload}` if `dot` is
 * given (an Add) and the causal context `observed ∪ {dot}`; this is exactly
 * `orSetJoinInto(target, that delta)`: same state (entries, index and context, down to their
 * iteration order), same changes, same `DoubleSpentDotError`. Where replaying the join's
 * order step by step would need the delta's own shape (an observed dot held under ANOTHER
 * element, a counter-1 dot, a replica's dots not adjacent in `observed`, a long `observed`),
 * it builds the delta and runs `orSetJoinInto`.
 */
export function orSetApplyDotInto(
  target: OrSet,
  element: string,
  dot: Dot | undefined,
  observed: readonly Dot[],
  payload: unknown,
): OrSetChange[] {
  const { entries, index, context } = target;
  // The dot's replica's counters: looked up once, for the refusal, the "held" test and the add.
  let dotCounters: Map<number, string> | undefined;
  let held = false;
  if (dot !== undefined) {
    dotCounters = index.get(dot[0]);
    const existing = dotCounters === undefined ? undefined : dotCounters.get(dot[1]);
    if (existing !== undefined) {
      if (existing !== element) throw new DoubleSpentDotError([dot[0], dot[1]], existing, element);
      held = true;
    }
  }
  if (!joinsInOrder(index, element, dot, observed)) {
    return orSetJoinInto(target, dotDelta(element, dot, observed, payload));
  }

  // `element`'s dots as they evolve (arrays are replaced, never mutated); written back once.
  const before = entries.get(element);
  let dots = before;
  let killed = false;
  // 1. The observed dots still live here were removed by the sender (never the message's own
  // dot). `joinsInOrder` made sure each is under `element`, so it is in `dots`.
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const replica = o[0];
    const counter = o[1];
    if (dot !== undefined && counter === dot[1] && replica === dot[0]) continue;
    const counters = index.get(replica);
    if (counters === undefined || !counters.delete(counter)) continue;
    if (counters.size === 0) {
      index.delete(replica);
      if (counters === dotCounters) dotCounters = undefined;
    }
    dots =
      dots!.length === 1 ? undefined : dots!.filter((d) => d.replica !== replica || d.counter !== counter);
    killed = true;
  }
  const emptied = killed && dots === undefined;
  // 2. The Add's dot, unless it is live here already or was seen (and so removed) before.
  let added = false;
  if (dot !== undefined && !held && !ccHas(context, dot[0], dot[1])) {
    const replica = dot[0];
    const counter = dot[1];
    const fresh: OrSetDot = payload === undefined ? { replica, counter } : { replica, counter, payload };
    dots = dots === undefined ? [fresh] : [...dots, fresh];
    if (dotCounters === undefined) {
      dotCounters = new Map();
      index.set(replica, dotCounters);
    }
    dotCounters.set(counter, element);
    added = true;
  }
  // Entries as the join leaves them: an element emptied by a kill is deleted, and one added
  // back after that goes to the end of the Map, as the join's delete-then-set puts it.
  if (killed || added) {
    if (dots === undefined) entries.delete(element);
    else {
      if (emptied) entries.delete(element);
      entries.set(element, dots);
    }
  }
  // 3. The context learns everything the message speaks for, in the order the join adds it.
  for (let i = 0; i < observed.length; i++) ccAddInto(context, observed[i]![0], observed[i]![1]);
  if (dot !== undefined) ccAddInto(context, dot[0], dot[1]);

  if (!killed && !added) return [];
  if (dots === undefined) return before === undefined ? [] : [{ element, kind: "removed" }];
  if (before === undefined) return [{ element, kind: "added" }];
  return greatestDot(dots).payload !== greatestDot(before).payload ? [{ element, kind: "updated" }] : [];
}

/** Longest `observed` list `orSetApplyDotInto` handles without building the delta. */
const MAX_DIRECT_OBSERVED = 32;

/**
 * Can `orSetApplyDotInto` replay the join in the message's own order? The join walks the
 * delta's context replica by replica (its version vector, then its cloud); with no counter-1
 * dot the delta's vector is empty and its cloud lists each replica's dots in first-seen order,
 * which is the message's order exactly when each replica's dots are adjacent. And every
 * observed dot live here must be under `element`, so only `element` can change.
 */
function joinsInOrder(
  index: OrSet["index"],
  element: string,
  dot: Dot | undefined,
  observed: readonly Dot[],
): boolean {
  const n = observed.length;
  if (n > MAX_DIRECT_OBSERVED) return false;
  if (dot !== undefined && dot[1] === 1) return false;
  for (let i = 0; i < n; i++) {
    const o = observed[i]!;
    const replica = o[0];
    const counter = o[1];
    if (counter === 1) return false;
    const counters = index.get(replica);
    const holder = counters === undefined ? undefined : counters.get(counter);
    if (holder !== undefined && holder !== element) return false;
    if (i > 0 && replica !== observed[i - 1]![0] && seenBefore(observed, i - 1, replica)) return false;
  }
  // The dot comes last: its replica must not appear earlier unless just before it.
  if (dot !== undefined && n > 0 && dot[0] !== observed[n - 1]![0] && seenBefore(observed, n - 1, dot[0]))
    return false;
  return true;
}

/** Whether `replica` is among `dots[0..end)`. */
function seenBefore(dots: readonly Dot[], end: number, replica: string): boolean {
  for (let j = 0; j < end; j++) if (dots[j]![0] === replica) return true;
  return false;
}

/** The delta one watchlist message makes (as sync-state's `watchlistDelta` builds it). */
function dotDelta(element: string, dot: Dot | undefined, observed: readonly Dot[], payload: unknown): OrSet {
  const delta = orSetEmpty();
  for (const [replica, counter] of observed) ccAddInto(delta.context, replica, counter);
  if (dot !== undefined) {
    const [replica, counter] = dot;
    delta.entries.set(element, [
      payload === undefined ? { replica, counter } : { replica, counter, payload },
    ]);
    indexDot(delta.index, replica, counter, element);
    ccAddInto(delta.context, replica, counter);
  }
  return delta;
}

const NOT_PRESENT = Symbol("not present");

type Touched = Map<string, unknown>;

/** Records `element`'s payload before its first change (in a map made on the first call). */
function remember(target: OrSet, touched: Touched | undefined, element: string): Touched {
  const out = touched ?? new Map<string, unknown>();
  if (!out.has(element)) {
    const dots = target.entries.get(element);
    out.set(element, dots === undefined ? NOT_PRESENT : greatestDot(dots).payload);
  }
  return out;
}

/** What a join did to `element`, given its payload before (or NOT_PRESENT) and its dots after. */
function changeOf(
  element: string,
  before: unknown,
  after: readonly OrSetDot[] | undefined,
): OrSetChange | undefined {
  if (after === undefined) return before === NOT_PRESENT ? undefined : { element, kind: "removed" };
  if (before === NOT_PRESENT) return { element, kind: "added" };
  return greatestDot(after).payload !== before ? { element, kind: "updated" } : undefined;
}

/**
 * Drops every dot of `target` that `other.context` covers and `other` does not hold. Walks
 * whichever side is smaller per replica: the delta's few context dots when applying a delta,
 * the target's own dots when joining a large state.
 */
function removeSeenDots(target: OrSet, other: OrSet, touched: Touched | undefined): Touched | undefined {
  let out = touched;
  for (const [replica, n] of other.context.vv) {
    const mine = target.index.get(replica);
    if (mine === undefined) continue;
    if (mine.size <= n) {
      for (const [counter, element] of mine)
        if (counter <= n) out = kill(target, other, replica, counter, element, out);
    } else {
      for (let counter = 1; counter <= n; counter++) {
        const element = mine.get(counter);
        if (element !== undefined) out = kill(target, other, replica, counter, element, out);
      }
    }
  }
  for (const [replica, counters] of other.context.cloud) {
    const mine = target.index.get(replica);
    if (mine === undefined) continue;
    for (const counter of counters) {
      const element = mine.get(counter);
      if (element !== undefined) out = kill(target, other, replica, counter, element, out);
    }
  }
  return out;
}

/** Removes the live dot `(replica, counter)` of `element` from `target`, unless `other` holds it. */
function kill(
  target: OrSet,
  other: OrSet,
  replica: string,
  counter: number,
  element: string,
  touched: Touched | undefined,
): Touched | undefined {
  if (other.index.get(replica)?.has(counter)) return touched;
  const out = remember(target, touched, element);
  const remaining = target.entries
    .get(element)!
    .filter((d) => d.replica !== replica || d.counter !== counter);
  if (remaining.length === 0) target.entries.delete(element);
  else target.entries.set(element, remaining);
  const counters = target.index.get(replica)!;
  counters.delete(counter);
  if (counters.size === 0) target.index.delete(replica);
  return out;
}

function indexDot(
  index: Map<string, Map<number, string>>,
  replica: string,
  counter: number,
  element: string,
): void {
  let counters = index.get(replica);
  if (counters === undefined) {
    counters = new Map();
    index.set(replica, counters);
  }
  counters.set(counter, element);
}

function greatestDot(dots: readonly OrSetDot[]): OrSetDot {
  let best = dots[0]!;
  for (let i = 1; i < dots.length; i++) {
    const dot = dots[i]!;
    if (dot.counter > best.counter || (dot.counter === best.counter && dot.replica > best.replica))
      best = dot;
  }
  return best;
}

/**
 * Same elements, dots, payloads and context. Payloads compare as JSON values, object keys in any
 * order (`lwwValueCompare`): a payload that went through a validator comes back with its keys
 * in the validator's order, and is still the same payload.
 */
export function orSetEquals(a: OrSet, b: OrSet): boolean {
  if (a.entries.size !== b.entries.size || !ccEquals(a.context, b.context)) return false;
  for (const [element, xs] of a.entries) {
    const ys = b.entries.get(element);
    if (ys === undefined || xs.length !== ys.length) return false;
    for (const x of xs) {
      const y = ys.find((d) => d.replica === x.replica && d.counter === x.counter);
      if (y === undefined || !samePayload(x.payload, y.payload)) return false;
    }
  }
  return true;
}

/** An absent payload equals only an absent one (as `orSetToJSON` writes a pair, not a triple). */
function samePayload(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (x === undefined || y === undefined) return false;
  return lwwValueCompare(x, y) === 0;
}

/** How many dots the state's metadata holds: live dots plus the context's size. */
export function orSetMetadataSize(set: OrSet): { liveDots: number; contextDots: number } {
  let liveDots = 0;
  for (const dots of set.entries.values()) liveDots += dots.length;
  return { liveDots, contextDots: ccSize(set.context) };
}

export function orSetToJSON(set: OrSet): OrSetJSON {
  const entries: Record<string, Array<[string, number] | [string, number, unknown]>> = {};
  for (const element of [...set.entries.keys()].sort()) {
    const dots = [...set.entries.get(element)!].sort((x, y) =>
      x.replica < y.replica ? -1 : x.replica > y.replica ? 1 : x.counter - y.counter,
    );
    setOwn(
      entries,
      element,
      dots.map((d): [string, number] | [string, number, unknown] =>
        d.payload === undefined ? [d.replica, d.counter] : [d.replica, d.counter, d.payload],
      ),
    );
  }
  return { entries, context: ccToJSON(set.context) };
}

const element = string({ max: 4096 });
const positiveCounter = integer({ min: 1 });
const payloadValue = jsonValue();

/**
 * Validates and builds a state (or delta). Throws `ValidationError` naming the path and the
 * reason, and `DoubleSpentDotError` for a dot under two elements. Every live dot must be in
 * the context: a store outside its own context is not a state any replica can reach.
 * `checkPayload` validates each payload (default: any JSON value).
 */
export function orSetFromJSON(json: unknown, checkPayload: Check<unknown> = payloadValue): OrSet {
  if (!isPlainObject(json)) fail("expected an object with entries and context");
  const set = orSetEmpty();
  const context = atPath(["context"], ccFromJSON, json.context);
  ccJoinInto(set.context, context);
  const entries = json.entries;
  if (!isPlainObject(entries)) throw new ValidationError("expected an object of element → dots", ["entries"]);
  for (const name of Object.keys(entries)) {
    atPath(["entries", name], element, name);
    const dots = entries[name];
    if (!Array.isArray(dots) || dots.length === 0) {
      throw new ValidationError("expected a non-empty array of dots", ["entries", name]);
    }
    const parsed: OrSetDot[] = [];
    dots.forEach((raw, i) => {
      const path = ["entries", name, i];
      if (!Array.isArray(raw) || raw.length < 2 || raw.length > 3) {
        throw new ValidationError("expected [replica, counter] or [replica, counter, payload]", path);
      }
      const replica = atPath([...path, 0], id, raw[0]);
      const counter = atPath([...path, 1], positiveCounter, raw[1]);
      if (!ccHas(set.context, replica, counter)) {
        throw new ValidationError(`dot [${JSON.stringify(replica)}, ${counter}] is not in the context`, path);
      }
      const existing = set.index.get(replica)?.get(counter);
      if (existing !== undefined) throw new DoubleSpentDotError([replica, counter], existing, name);
      const payload = raw.length === 3 ? atPath([...path, 2], checkPayload, raw[2]) : undefined;
      parsed.push(payload === undefined ? { replica, counter } : { replica, counter, payload });
      indexDot(set.index, replica, counter, name);
    });
    set.entries.set(name, parsed);
  }
  return set;
}
