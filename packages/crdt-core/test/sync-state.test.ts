import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeMessage, encodeMessage, type Message } from "../src/messages/index.js";
import { DoubleSpentDotError } from "../src/or-set.js";
import { stateToChunks } from "../src/state-chunks.js";
import {
  applyMessage,
  applyMessageInto,
  mergeStates,
  preferenceOf,
  progressOf,
  syncStateClone,
  syncStateEmpty,
  syncStateEquals,
  syncStateFromJSON,
  syncStateToJSON,
  type UserSyncState,
  watchlistAddMessage,
  watchlistItem,
  watchlistValues,
  watchProgressMessage,
} from "../src/sync-state.js";
import { runSyncHistory, syncHistoryArbitrary, syncModel } from "../src/testing/sync-histories.js";

function modelOf(state: UserSyncState) {
  const progress = Object.fromEntries(
    [...state.progress.entries]
      .filter(([, e]) => !e.deleted)
      .map(([k]) => [k, progressOf(state, k)!.progress_seconds])
      .sort(([x], [y]) => (String(x) < String(y) ? -1 : 1)),
  );
  const watchlist = Object.fromEntries(
    watchlistValues(state).map((id) => [id, watchlistItem(state, id)?.content_metadata?.title ?? null]),
  );
  const preferences = Object.fromEntries(
    [...state.preferences.entries]
      .filter(([, e]) => !e.deleted)
      .map(([k]) => [k, preferenceOf(state, k)])
      .sort(([x], [y]) => (String(x) < String(y) ? -1 : 1)),
  );
  return { progress, watchlist, preferences };
}

/** A delivery order: every message once in a random order, plus some duplicates. */
const deliveryArb = (count: number) =>
  fc
    .tuple(
      fc.shuffledSubarray(
        Array.from({ length: count }, (_, i) => i),
        { minLength: count, maxLength: count },
      ),
      fc.array(fc.nat({ max: Math.max(0, count - 1) }), { maxLength: Math.min(count, 10) }),
    )
    .map(([order, dups]) => (count === 0 ? [] : [...order, ...dups]));

/** Through the wire codec, as a transport would deliver it. */
function viaWire(message: Message): Message {
  const decoded = decodeMessage(encodeMessage(message));
  if (!decoded.ok) throw new Error(`${decoded.error.path}: ${decoded.error.reason}`);
  return decoded.value;
}

describe("applyMessage: the one merge path", () => {
  test("2–5 devices, any interleaving with duplicates: every replica converges to the reference model", () => {
    fc.assert(
      fc.property(
        syncHistoryArbitrary({ minDevices: 2, maxDevices: 5, maxSteps: 40 }).chain((h) =>
          fc.tuple(
            fc.constant(h),
            fc.array(deliveryArb(h.messages.length), {
              minLength: h.devices.length,
              maxLength: h.devices.length,
            }),
          ),
        ),
        ([history, deliveries]) => {
          const expected = syncModel(history.messages);
          const finals = history.states.map((state, i) => {
            const replica = syncStateClone(state);
            for (const m of deliveries[i]!) applyMessageInto(replica, viaWire(history.messages[m]!));
            return replica;
          });
          for (const replica of finals) {
            expect(modelOf(replica)).toEqual(expected);
            expect(syncStateEquals(replica, finals[0]!)).toBe(true);
          }
        },
      ),
    );
  });

  test("a duplicate changes nothing and reports no change", () => {
    fc.assert(
      fc.property(syncHistoryArbitrary({ maxSteps: 20 }), (history) => {
        const replica = syncStateEmpty();
        for (const m of history.messages) applyMessageInto(replica, m);
        const before = JSON.stringify(syncStateToJSON(replica));
        for (const m of history.messages) expect(applyMessageInto(replica, m)).toEqual([]);
        expect(JSON.stringify(syncStateToJSON(replica))).toBe(before);
      }),
    );
  });

  test("the pure form leaves its input untouched and agrees with the in-place form", () => {
    fc.assert(
      fc.property(syncHistoryArbitrary({ maxSteps: 20 }), (history) => {
        const state = history.states[0]!;
        const before = JSON.stringify(syncStateToJSON(state));
        for (const m of history.messages) {
          const { state: next } = applyMessage(state, m);
          const owned = syncStateClone(state);
          applyMessageInto(owned, m);
          expect(syncStateEquals(next, owned)).toBe(true);
        }
        expect(JSON.stringify(syncStateToJSON(state))).toBe(before);
      }),
    );
  });

  test("changes say what a UI must redraw", () => {
    const state = syncStateEmpty();
    const add = watchlistAddMessage(state, {
      content_id: "tmdb:550",
      device_id: "phone",
      replica: "phone",
      timestamp: 1_000,
      content_metadata: { title: "Fight Club", content_type: "Movie" },
    });
    expect(applyMessageInto(state, add)).toEqual([
      { kind: "watchlist", content_id: "tmdb:550", change: "added" },
    ]);
    const progress = watchProgressMessage({
      content_id: "tmdb:550",
      progress_seconds: 3245,
      duration_seconds: 8217,
      state: "Paused",
      device_id: "tv",
      device_type: "TV",
      timestamp: 2_000,
    });
    expect(applyMessageInto(state, progress)).toEqual([{ kind: "progress", content_id: "tmdb:550" }]);
    expect(
      applyMessageInto(state, {
        msg_type: "preference_update",
        key: "subtitles",
        value: "en",
        timestamp: 3_000,
        device_id: "tv",
      }),
    ).toEqual([{ kind: "preference", key: "subtitles" }]);
    expect(watchlistItem(state, "tmdb:550")).toEqual({
      added_at: 1_000,
      added_by: "phone",
      content_metadata: { title: "Fight Club", content_type: "Movie" },
    });
  });

  test("a message reusing a dot for another title is refused and changes nothing", () => {
    const state = syncStateEmpty();
    applyMessageInto(state, {
      msg_type: "watchlist_update",
      operation: "Add",
      content_id: "a",
      timestamp: 1,
      device_id: "d",
      unique_tag: "t",
      dot: ["r", 1],
    });
    const before = JSON.stringify(syncStateToJSON(state));
    expect(() =>
      applyMessageInto(state, {
        msg_type: "watchlist_update",
        operation: "Add",
        content_id: "b",
        timestamp: 2,
        device_id: "d",
        unique_tag: "u",
        dot: ["r", 1],
      }),
    ).toThrow(DoubleSpentDotError);
    expect(JSON.stringify(syncStateToJSON(state))).toBe(before);
  });
});

describe("spec examples through the sync state", () => {
  test("7.1: TV 100 s @1000 vs phone 150 s @1001 converge to the phone's in both orders", () => {
    const tv = watchProgressMessage({
      content_id: "tmdb:550",
      progress_seconds: 100,
      duration_seconds: 8217,
      state: "Paused",
      device_id: "tv",
      device_type: "TV",
      timestamp: 1000,
    });
    const phone = watchProgressMessage({
      content_id: "tmdb:550",
      progress_seconds: 150,
      duration_seconds: 8217,
      state: "Playing",
      device_id: "phone",
      device_type: "Phone",
      timestamp: 1001,
    });
    for (const order of [
      [tv, phone],
      [phone, tv],
    ]) {
      const replica = syncStateEmpty();
      for (const m of order) applyMessageInto(replica, m);
      expect(progressOf(replica, "tmdb:550")?.progress_seconds).toBe(150);
    }
  });

  test("7.2 with spec-only messages (unique_tag, no dots): Fight Club ends IN the set in all 6 orders", () => {
    const add1: Message = {
      msg_type: "watchlist_update",
      operation: "Add",
      content_id: "tmdb:550",
      timestamp: 1000,
      device_id: "tv",
      unique_tag: "abc123",
    };
    const remove: Message = {
      msg_type: "watchlist_update",
      operation: "Remove",
      content_id: "tmdb:550",
      timestamp: 1001,
      device_id: "phone",
      unique_tag: "abc123",
    };
    const add2: Message = {
      msg_type: "watchlist_update",
      operation: "Add",
      content_id: "tmdb:550",
      timestamp: 1002,
      device_id: "web",
      unique_tag: "def456",
    };
    const all = [add1, remove, add2];
    for (const order of [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ]) {
      const replica = syncStateEmpty();
      for (const i of [...order, ...order]) applyMessageInto(replica, viaWire(all[i]!));
      expect(watchlistValues(replica)).toEqual(["tmdb:550"]);
      expect(watchlistItem(replica, "tmdb:550")?.added_by).toBe("web");
    }
  });
});

describe("reconciliation chunks (DEVIATIONS 9)", () => {
  test("any state, cut at 1–32 KiB, applied in any order (with duplicates) to an empty replica, is reproduced exactly", () => {
    fc.assert(
      fc.property(
        syncHistoryArbitrary({ minSteps: 30, maxSteps: 120 }),
        // Mostly small limits, so that ranges are cut between dots and across many chunks.
        fc.oneof(fc.integer({ min: 1024, max: 1400 }), fc.integer({ min: 1024, max: 32 * 1024 })),
        fc.nat(),
        (history, maxBytes, seed) => {
          const state = history.states.reduce(mergeStates, syncStateEmpty());
          const chunks = stateToChunks(state, maxBytes, {
            serverTimestamp: 5_000_000,
            responderDeviceId: "tv-living-room",
          });
          const order = chunks
            .map((_, i) => i)
            .sort((x, y) => ((x * 7919 + seed) % 13) - ((y * 7919 + seed) % 13));
          const replica = syncStateEmpty();
          for (const i of [...order, order[0]!]) {
            const text = encodeMessage(chunks[i]!);
            // The text stateToChunks assembled from its measured pieces is the message's JSON.
            expect(text).toBe(JSON.stringify(chunks[i]!));
            expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(maxBytes);
            applyMessageInto(replica, viaWire(chunks[i]!));
          }
          expect(syncStateToJSON(replica)).toEqual(syncStateToJSON(state));
        },
      ),
      { numRuns: 60 },
    );
  });

  test("chunks applied to a replica that is behind bring it to the merge of both", () => {
    fc.assert(
      fc.property(syncHistoryArbitrary({ minDevices: 2, maxDevices: 3, maxSteps: 40 }), (history) => {
        const [a, b] = [history.states[0]!, history.states[1]!];
        const replica = syncStateClone(b);
        for (const chunk of stateToChunks(a, 2048, { serverTimestamp: 1 })) applyMessageInto(replica, chunk);
        expect(syncStateEquals(replica, mergeStates(a, b))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  test("a 10 000-title state splits into chunks that are all under 32 KiB", () => {
    const state = syncStateEmpty();
    for (let i = 0; i < 10_000; i++) {
      const content_id = `tmdb:${i}`;
      applyMessageInto(
        state,
        watchlistAddMessage(state, {
          content_id,
          device_id: "phone-ios-alice",
          replica: "phone-ios-alice",
          timestamp: 1_733_500_800_000_000 + i,
          content_metadata: {
            title: `Title number ${i}`,
            year: 1999,
            poster_url: `https://image.tmdb.org/t/p/w500/${i}.jpg`,
            content_type: "Movie",
          },
        }),
      );
      applyMessageInto(
        state,
        watchProgressMessage({
          content_id,
          progress_seconds: i,
          duration_seconds: 20_000,
          state: "Paused",
          device_id: "tv",
          device_type: "TV",
          timestamp: 1_733_500_800_000_000 + i,
        }),
      );
    }
    const chunks = stateToChunks(state, 32 * 1024, { serverTimestamp: 1_733_500_900_000_000 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks)
      expect(new TextEncoder().encode(encodeMessage(chunk)).length).toBeLessThanOrEqual(32 * 1024);
    const replica = syncStateEmpty();
    for (const chunk of chunks.slice().reverse()) applyMessageInto(replica, chunk);
    expect(syncStateEquals(replica, state)).toBe(true);
  });

  test("an empty state still answers with one chunk, and an entry too big for the limit is a RangeError", () => {
    expect(stateToChunks(syncStateEmpty(), 1024, { serverTimestamp: 1 })).toHaveLength(1);
    const state = syncStateEmpty();
    applyMessageInto(state, {
      msg_type: "preference_update",
      key: "notes",
      value: "x".repeat(2000),
      timestamp: 1,
      device_id: "tv",
    });
    expect(() => stateToChunks(state, 1024, { serverTimestamp: 1 })).toThrow(RangeError);
  });
});

describe("snapshots", () => {
  test("JSON round-trips exactly and is validated", () => {
    fc.assert(
      fc.property(syncHistoryArbitrary({ maxSteps: 30 }), (history) => {
        for (const state of history.states) {
          const json = JSON.parse(JSON.stringify(syncStateToJSON(state)));
          expect(syncStateToJSON(syncStateFromJSON(json))).toEqual(json);
        }
      }),
    );
    const h = runSyncHistory(1, [{ kind: "add", device: 0, title: 0, withSnippet: false }]);
    const json = syncStateToJSON(h.states[0]!) as unknown as {
      watchlist: { entries: Record<string, unknown[][]> };
    };
    const [first] = Object.values(json.watchlist.entries);
    (first![0]![2] as { added_at: unknown }).added_at = -1;
    expect(() => syncStateFromJSON(json)).toThrow(
      /^watchlist\.entries\.tmdb:550\[0\]\[2\]\.added_at: expected a non-negative integer, got -1$/,
    );
  });
});
