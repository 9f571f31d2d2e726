/**
 * One law checker for every join-semilattice in the project (after rust-crdt's `CvRDT`
 * laws and riak_dt's generic `crdt_statem_eqc`): a state-based merge must be commutative,
 * associative and idempotent, or replicas that see the same updates in another order
 * diverge. fast-check prints the seed and counterexample path of any failure.
 */
import fc from "fast-check";

export interface JoinLawOptions {
  /** Passed through to `fc.assert` (numRuns, seed, …); examples are not supported here. */
  readonly params?: { readonly numRuns?: number; readonly seed?: number; readonly path?: string };
}

export function checkJoinLaws<T>(
  arbitrary: fc.Arbitrary<T>,
  join: (a: T, b: T) => T,
  equals: (a: T, b: T) => boolean,
  options: JoinLawOptions = {},
): void {
  checkJoinLawsOnTriples(fc.tuple(arbitrary, arbitrary, arbitrary), join, equals, options);
}

/**
 * The same laws over related states, for types whose states must come from one history
 * (an OR-Set's dots are only meaningful within one universe of replicas).
 */
export function checkJoinLawsOnTriples<T>(
  triples: fc.Arbitrary<readonly [T, T, T]>,
  join: (a: T, b: T) => T,
  equals: (a: T, b: T) => boolean,
  options: JoinLawOptions = {},
): void {
  const params = { ...options.params };
  fc.assert(
    fc.property(triples, ([a, b]) => equals(join(a, b), join(b, a))),
    params,
  );
  fc.assert(
    fc.property(triples, ([a, b, c]) => equals(join(join(a, b), c), join(a, join(b, c)))),
    params,
  );
  fc.assert(
    fc.property(triples, ([a]) => equals(join(a, a), a)),
    params,
  );
}
