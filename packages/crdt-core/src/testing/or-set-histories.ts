/**
 * Random OR-Set histories for property tests: replicas add and remove elements and receive
 * some of each other's deltas along the way (so removes observe real adds), and an add-wins
 * oracle computed from the operation log alone (crdt-anchors §2.4.5, riak_dt's orswot_eqc).
 */
import fc from "fast-check";
import { type OrSet, orSetAddDelta, orSetEmpty, orSetJoinInto, orSetRemoveDelta } from "../or-set.js";

export type OrSetStep =
  | { readonly kind: "add"; readonly replica: number; readonly element: string; readonly payload?: string }
  | { readonly kind: "remove"; readonly replica: number; readonly element: string }
  /** Deliver the delta produced by an earlier step (index modulo the deltas so far). */
  | { readonly kind: "deliver"; readonly replica: number; readonly delta: number };

export interface OrSetHistory {
  readonly replicas: readonly string[];
  /** Each replica's state after the steps (before any final delivery). */
  readonly states: readonly OrSet[];
  /** Every delta produced, in production order. */
  readonly deltas: readonly OrSet[];
  /** The log the oracle reads: what each add minted and what each op observed. */
  readonly log: readonly OrSetLogEntry[];
}

export interface OrSetLogEntry {
  readonly element: string;
  /** The dot an add minted (absent for a remove). */
  readonly added?: { readonly replica: string; readonly counter: number; readonly payload?: string };
  /** The dots the op observed and retired ("replica:counter"). */
  readonly observed: readonly string[];
}

export interface OrSetHistoryOptions {
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly elements?: readonly string[];
  readonly maxSteps?: number;
}

const DEFAULT_ELEMENTS = ["tmdb:550", "tmdb:603", "tmdb:13", "tmdb:680"];

export function orSetStepArbitrary(replicas: number, elements: readonly string[]): fc.Arbitrary<OrSetStep> {
  const replica = fc.nat({ max: replicas - 1 });
  const element = fc.constantFrom(...elements);
  return fc.oneof(
    fc.record(
      {
        kind: fc.constant("add" as const),
        replica,
        element,
        payload: fc.constantFrom("snippet-a", "snippet-b"),
      },
      { requiredKeys: ["kind", "replica", "element"] },
    ),
    fc.record({ kind: fc.constant("remove" as const), replica, element }),
    fc.record({ kind: fc.constant("deliver" as const), replica, delta: fc.nat() }),
  );
}

export function orSetHistoryArbitrary(options: OrSetHistoryOptions = {}): fc.Arbitrary<OrSetHistory> {
  const { minReplicas = 2, maxReplicas = 5, elements = DEFAULT_ELEMENTS, maxSteps = 40 } = options;
  return fc
    .integer({ min: minReplicas, max: maxReplicas })
    .chain((count) =>
      fc
        .array(orSetStepArbitrary(count, elements), { maxLength: maxSteps, size: "max" })
        .map((steps) => runOrSetHistory(count, steps)),
    );
}

export function runOrSetHistory(count: number, steps: readonly OrSetStep[]): OrSetHistory {
  const replicas = Array.from({ length: count }, (_, i) => `replica-${String.fromCharCode(65 + i)}`);
  const states = replicas.map(() => orSetEmpty());
  const deltas: OrSet[] = [];
  const log: OrSetLogEntry[] = [];
  for (const step of steps) {
    const state = states[step.replica]!;
    if (step.kind === "deliver") {
      if (deltas.length > 0) orSetJoinInto(state, deltas[step.delta % deltas.length]!);
      continue;
    }
    const delta =
      step.kind === "add"
        ? orSetAddDelta(state, step.element, replicas[step.replica]!, step.payload)
        : orSetRemoveDelta(state, step.element);
    // What the op observed is read from the replica's live entries, not from the delta's
    // context, so the oracle does not lean on the causal context it is meant to check.
    const observed = (state.entries.get(step.element) ?? []).map((d) => `${d.replica}:${d.counter}`);
    const added = delta.entries.get(step.element)?.[0];
    log.push(
      added === undefined
        ? { element: step.element, observed }
        : {
            element: step.element,
            added: {
              replica: added.replica,
              counter: added.counter,
              ...(step.kind === "add" && step.payload !== undefined ? { payload: step.payload } : {}),
            },
            observed,
          },
    );
    orSetJoinInto(state, delta);
    deltas.push(delta);
  }
  return { replicas, states, deltas, log };
}

/**
 * The add-wins reference: an add's dot is live iff no op in the whole log observed it; an
 * element is present iff it has a live dot; its payload is the one of its greatest live dot
 * by (counter, replica).
 */
export function orSetOracle(log: readonly OrSetLogEntry[]): Map<string, string | undefined> {
  const observed = new Set<string>();
  for (const entry of log) for (const dot of entry.observed) observed.add(dot);
  const best = new Map<string, { counter: number; replica: string; payload?: string }>();
  for (const entry of log) {
    const add = entry.added;
    if (add === undefined || observed.has(`${add.replica}:${add.counter}`)) continue;
    const current = best.get(entry.element);
    if (
      current === undefined ||
      add.counter > current.counter ||
      (add.counter === current.counter && add.replica > current.replica)
    ) {
      best.set(entry.element, add);
    }
  }
  const out = new Map<string, string | undefined>();
  for (const [element, add] of best) out.set(element, add.payload);
  return out;
}
