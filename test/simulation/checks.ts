/**
 * What a finished run must satisfy: no invariant violated on the way, every device holding the
 * same sync state, and that state equal to the oracle's. The oracle is also checked against
 * crdt-core's own reference model (`syncModel`) on the parts both describe, so neither can
 * drift from the spec alone.
 */
import { type SyncMessageOfHistory, type SyncModel, syncModel } from "@mg-sync/crdt-core/testing";
import { expect } from "vitest";
import type { CanonicalState } from "./oracle.js";
import type { RunOutcome } from "./simulation.js";

/** The oracle seen through `syncModel`'s eyes: positions, the greatest add's title, live preferences. */
function asSyncModel(state: CanonicalState): SyncModel {
  const progress: Record<string, number> = {};
  for (const [id, register] of Object.entries(state.progress)) {
    progress[id] = (register.value as { progress_seconds: number }).progress_seconds;
  }
  const watchlist: Record<string, string | null> = {};
  for (const [id, dots] of Object.entries(state.watchlist)) {
    const best = [...dots].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))[0]!;
    const payload = best[2] as { content_metadata?: { title: string } | null };
    watchlist[id] = payload.content_metadata?.title ?? null;
  }
  const preferences: Record<string, unknown> = {};
  for (const [key, register] of Object.entries(state.preferences)) {
    if (register.deleted !== true) preferences[key] = register.value;
  }
  return { progress, watchlist, preferences };
}

export function expectRunHeld(outcome: RunOutcome): void {
  expect(outcome.problems, "invariants broken during the run").toEqual([]);
  const [first, ...rest] = outcome.states;
  const ids = outcome.clients.map((c) => c.deviceId);
  rest.forEach((state, i) => {
    expect(state, `${ids[i + 1]}'s state vs ${ids[0]}'s`).toEqual(first);
  });
  expect(first, "the devices' state vs the oracle of the operation log").toEqual(outcome.oracle);
  expect(asSyncModel(outcome.oracle), "the oracle vs crdt-core's syncModel").toEqual(
    syncModel(outcome.log as readonly SyncMessageOfHistory[]),
  );
}
