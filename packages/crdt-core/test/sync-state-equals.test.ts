/**
 * Equality of states is about values, not about the key order of their JSON payloads: a state
 * sent as reconciliation chunks comes back with each content snippet rebuilt by the validator
 * (required keys first), and must still equal itself (reported on issue 8).
 */
import { describe, expect, test } from "vitest";
import { decodeMessage, encodeMessage } from "../src/messages/index.js";
import { orSetAddDelta, orSetEmpty, orSetEquals, orSetJoinInto } from "../src/or-set.js";
import { stateToChunks } from "../src/state-chunks.js";
import {
  applyMessageInto,
  syncStateEmpty,
  syncStateEquals,
  type UserSyncState,
  watchlistAddMessage,
} from "../src/sync-state.js";

function reconciled(state: UserSyncState): UserSyncState {
  const replica = syncStateEmpty();
  for (const chunk of stateToChunks(state, 32 * 1024, { serverTimestamp: 1 })) {
    const decoded = decodeMessage(encodeMessage(chunk));
    if (!decoded.ok) throw new Error(`${decoded.error.path}: ${decoded.error.reason}`);
    applyMessageInto(replica, decoded.value);
  }
  return replica;
}

describe("syncStateEquals / orSetEquals compare payloads as values", () => {
  test("a state sent through stateToChunks → decodeMessage equals itself", () => {
    const state = syncStateEmpty();
    // The optional snippet fields before the required `content_type`, as a UI may build it.
    const message = watchlistAddMessage(state, {
      content_id: "tmdb:550",
      device_id: "tv-1",
      replica: "tv-1",
      timestamp: 1_733_500_800_000_000,
      content_metadata: { title: "Fight Club", year: 1999, poster_url: null, content_type: "Movie" },
    });
    applyMessageInto(state, message);
    const replica = reconciled(state);
    // The decoded snippet's keys are in the validator's order: the bug needs that difference.
    const snippetKeys = (s: UserSyncState) =>
      Object.keys(
        (s.watchlist.entries.get("tmdb:550")![0]!.payload as { content_metadata: object }).content_metadata,
      );
    expect(snippetKeys(state)).toEqual(["title", "year", "poster_url", "content_type"]);
    expect(snippetKeys(replica)).toEqual(["title", "content_type", "year", "poster_url"]);
    expect(syncStateEquals(replica, state)).toBe(true);
    expect(syncStateEquals(state, replica)).toBe(true);
  });

  test("payloads still differ when their values do, and a missing payload differs from null", () => {
    const withPayload = (payload: unknown) => {
      const set = orSetEmpty();
      orSetJoinInto(set, orSetAddDelta(set, "x", "r", payload));
      return set;
    };
    expect(orSetEquals(withPayload({ a: 1, b: 2 }), withPayload({ b: 2, a: 1 }))).toBe(true);
    expect(orSetEquals(withPayload({ a: 1, b: 2 }), withPayload({ a: 1, b: 3 }))).toBe(false);
    expect(orSetEquals(withPayload({ a: 1 }), withPayload({ a: 1, b: 3 }))).toBe(false);
    expect(orSetEquals(withPayload([1, 2]), withPayload([2, 1]))).toBe(false);
    expect(orSetEquals(withPayload(undefined), withPayload(null))).toBe(false);
    expect(orSetEquals(withPayload(undefined), withPayload(undefined))).toBe(true);
  });

  test("dots differ even with equal payloads", () => {
    const a = orSetEmpty();
    orSetJoinInto(a, orSetAddDelta(a, "x", "r", "p"));
    const b = orSetEmpty();
    orSetJoinInto(b, orSetAddDelta(b, "x", "s", "p"));
    expect(orSetEquals(a, b)).toBe(false);
  });
});
