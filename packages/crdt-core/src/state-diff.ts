/**
 * What one user state holds that another lacks, as a delta: `mergeStates(others,
 * syncStateMissingFrom(mine, others))` equals `mergeStates(others, mine)`, while the delta
 * carries only the entries that would change something. A device whose reconciliation answers
 * lacked something it holds publishes this (its push-back) instead of its whole state, small
 * enough to be stored in history like any change, so a device away at that moment still gets it.
 */
import { ccAddInto, ccForEachDot, ccHas } from "./causal-context.js";
import type { LwwMap, MutableLwwMap } from "./lww-map.js";
import type { OrSet, OrSetDot } from "./or-set.js";
import { syncStateEmpty, type UserSyncState } from "./sync-state.js";

/** Entries of `mine` whose stamp beats `others`' entry for the key (or that `others` lacks). */
function lwwMissingInto<T>(target: MutableLwwMap<T>, mine: LwwMap<T>, others: LwwMap<T>): void {
  for (const [key, entry] of mine.entries) {
    const theirs = others.entries.get(key);
    if (theirs === undefined || entry.ts > theirs.ts || (entry.ts === theirs.ts && entry.node > theirs.node))
      target.entries.set(key, entry);
  }
}

function isLive(set: OrSet, replica: string, counter: number): boolean {
  return set.index.get(replica)?.get(counter) !== undefined;
}

/**
 * The OR-Set part: live dots `others` has never seen (with the context that speaks for them),
 * the dots `others` has never seen that `mine` already knows dead, and the dots `others` still
 * holds live that `mine` has removed. A dot live on both sides is in neither part, so the delta's
 * context never claims it (which would remove it on merge).
 */
function orSetMissingInto(target: OrSet, mine: OrSet, others: OrSet): void {
  for (const [element, dots] of mine.entries) {
    let fresh: OrSetDot[] | undefined;
    for (const dot of dots) {
      if (ccHas(others.context, dot.replica, dot.counter)) continue;
      if (fresh === undefined) fresh = [dot];
      else fresh.push(dot);
      let counters = target.index.get(dot.replica);
      if (counters === undefined) {
        counters = new Map();
        target.index.set(dot.replica, counters);
      }
      counters.set(dot.counter, element);
    }
    if (fresh !== undefined) target.entries.set(element, fresh);
  }
  ccForEachDot(mine.context, (replica, counter) => {
    if (ccHas(others.context, replica, counter)) {
      // Seen on both sides: only a removal `others` has not applied yet is news.
      if (isLive(others, replica, counter) && !isLive(mine, replica, counter))
        ccAddInto(target.context, replica, counter);
    } else ccAddInto(target.context, replica, counter);
  });
}

/** The part of `mine` that `others` lacks (see the module comment). Inputs are untouched. */
export function syncStateMissingFrom(mine: UserSyncState, others: UserSyncState): UserSyncState {
  const missing = syncStateEmpty();
  lwwMissingInto(missing.progress, mine.progress, others.progress);
  lwwMissingInto(missing.preferences, mine.preferences, others.preferences);
  orSetMissingInto(missing.watchlist, mine.watchlist, others.watchlist);
  return missing;
}

/** True when the state holds nothing at all (no entry, no context). */
export function syncStateIsEmpty(state: UserSyncState): boolean {
  return (
    state.progress.entries.size === 0 &&
    state.preferences.entries.size === 0 &&
    state.watchlist.entries.size === 0 &&
    state.watchlist.context.vv.size === 0 &&
    state.watchlist.context.cloud.size === 0
  );
}
