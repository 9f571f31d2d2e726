/**
 * `syncStateMissingFrom(mine, others)`: merged into `others` it gives exactly what merging all of
 * `mine` gives, it is empty when `others` already holds everything of `mine`, and its chunks travel
 * like any reconciliation answer. States come from the sync histories (two or three devices,
 * adds, removes, re-adds, progress, preferences, partial delivery).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { stateToChunks } from "../src/state-chunks.js";
import { syncStateIsEmpty, syncStateMissingFrom } from "../src/state-diff.js";
import { applyMessageInto, mergeStates, syncStateEmpty, syncStateEquals } from "../src/sync-state.js";
import { syncHistoryArbitrary } from "../src/testing/sync-histories.js";

const histories = syncHistoryArbitrary({ minDevices: 2, maxDevices: 3, maxSteps: 60 });

describe("syncStateMissingFrom", () => {
  test("merged into the other state, it gives what merging the whole state gives", () => {
    fc.assert(
      fc.property(histories, (history) => {
        const [mine, others] = [history.states[0]!, history.states[1]!];
        const missing = syncStateMissingFrom(mine, others);
        expect(syncStateEquals(mergeStates(others, missing), mergeStates(others, mine))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test("is empty exactly when the other state already holds everything", () => {
    fc.assert(
      fc.property(histories, (history) => {
        const [mine, others] = [history.states[0]!, history.states[1]!];
        const both = mergeStates(mine, others);
        expect(syncStateIsEmpty(syncStateMissingFrom(mine, both))).toBe(true);
        expect(syncStateIsEmpty(syncStateMissingFrom(mine, mine))).toBe(true);
        const missing = syncStateMissingFrom(mine, others);
        expect(syncStateIsEmpty(missing)).toBe(syncStateEquals(mergeStates(others, mine), others));
      }),
      { numRuns: 200 },
    );
  });

  test("its chunks, applied in any order, bring the other state to the merge", () => {
    fc.assert(
      fc.property(histories, fc.integer({ min: 1024, max: 4096 }), (history, maxBytes) => {
        const [mine, others] = [history.states[0]!, history.states[1]!];
        const chunks = stateToChunks(syncStateMissingFrom(mine, others), maxBytes, { serverTimestamp: 1 });
        const replica = mergeStates(others, syncStateEmpty());
        for (const chunk of [...chunks].reverse()) applyMessageInto(replica, chunk);
        expect(syncStateEquals(replica, mergeStates(others, mine))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
