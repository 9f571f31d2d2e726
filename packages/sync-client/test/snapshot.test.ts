import {
  applyMessageInto,
  preferenceMessage,
  syncStateEmpty,
  syncStateEquals,
  syncStateToJSON,
  watchlistAddMessage,
} from "@mg-sync/crdt-core";
import { describe, expect, it } from "vitest";
import {
  parseSyncClientSnapshot,
  restoreSnapshot,
  SnapshotError,
  type SyncClientSnapshot,
} from "../src/snapshot.js";

function sample(): SyncClientSnapshot {
  const state = syncStateEmpty();
  const add = watchlistAddMessage(state, {
    content_id: "tmdb:550",
    device_id: "phone",
    timestamp: 1_733_500_800_000_000,
    replica: "phone~abcd1234",
  });
  applyMessageInto(state, add);
  const pref = preferenceMessage({
    key: "autoplay",
    value: false,
    device_id: "phone",
    timestamp: 1_733_500_800_000_001,
  });
  applyMessageInto(state, pref);
  return JSON.parse(
    JSON.stringify({
      version: 1,
      deviceId: "phone",
      state: syncStateToJSON(state),
      hlc: 1_733_500_800_000_001,
      lastTimetokens: { "user.alice.sync": "17335008000000000" },
      pending: [pref],
    }),
  ) as SyncClientSnapshot;
}

function errorOf(run: () => unknown): SnapshotError {
  try {
    run();
  } catch (error) {
    if (error instanceof SnapshotError) return error;
    throw error;
  }
  throw new Error("expected a SnapshotError");
}

describe("snapshots", () => {
  it("round-trips through JSON", () => {
    const snap = sample();
    const restored = restoreSnapshot(snap, "phone");
    expect(syncStateEquals(restored.state, restoreSnapshot(JSON.parse(JSON.stringify(snap))).state)).toBe(
      true,
    );
    expect(restored.snapshot.pending).toHaveLength(1);
    expect(parseSyncClientSnapshot(snap).lastTimetokens).toEqual(snap.lastTimetokens);
  });

  it("names what is wrong", () => {
    const snap = sample();
    expect(errorOf(() => restoreSnapshot(null)).path).toBe("");
    expect(errorOf(() => restoreSnapshot({ ...snap, version: 2 })).path).toBe("version");
    expect(errorOf(() => restoreSnapshot(snap, "tv")).path).toBe("deviceId");
    expect(errorOf(() => restoreSnapshot({ ...snap, hlc: -1 })).path).toBe("hlc");
    expect(errorOf(() => restoreSnapshot({ ...snap, lastTimetokens: { x: "abc" } })).path).toBe(
      "lastTimetokens.x",
    );
    expect(errorOf(() => restoreSnapshot({ ...snap, state: { ...snap.state, progress: 5 } })).path).toMatch(
      /^state\.progress/,
    );
    const badPending = { ...snap, pending: [{ ...snap.pending[0], device_id: "tv" }] };
    expect(errorOf(() => restoreSnapshot(badPending)).path).toBe("pending[0].device_id");
    const notDelta = {
      ...snap,
      pending: [{ msg_type: "device_leave", device_id: "phone", timestamp: 1 }],
    };
    expect(errorOf(() => restoreSnapshot(notDelta)).path).toBe("pending[0].msg_type");
  });
});
