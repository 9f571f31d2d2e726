import {
  applyMessageInto,
  encryptedTextLength,
  encryptPayload,
  importUserKey,
  MAX_MESSAGE_BYTES,
  type StateReconciliationRequestMessage,
  type StateReconciliationResponseMessage,
  stateToChunks,
  syncStateEmpty,
  watchlistAddMessage,
  watchlistValues,
} from "@mg-sync/crdt-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkBudgetBytes, ReconciliationResponder } from "../src/reconciliation.js";
import { VirtualTime } from "./support/virtual-time.js";

describe("chunkBudgetBytes", () => {
  it("is the limit itself for plaintext, capped at the 32 KiB message limit", () => {
    expect(chunkBudgetBytes(16_000, false)).toBe(16_000);
    expect(chunkBudgetBytes(1_000_000, false)).toBe(MAX_MESSAGE_BYTES);
  });

  it("property: the largest plaintext whose envelope still fits", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 200_000 }), (max) => {
        const budget = chunkBudgetBytes(max, true);
        expect(budget).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        expect(10 + encryptedTextLength(budget)).toBeLessThanOrEqual(max);
        if (budget < MAX_MESSAGE_BYTES) expect(10 + encryptedTextLength(budget + 1)).toBeGreaterThan(max);
      }),
    );
  });

  it("matches a real envelope's size", async () => {
    const key = await importUserKey(new Uint8Array(32).fill(1));
    const budget = chunkBudgetBytes(32 * 1024, true);
    const text = "x".repeat(budget);
    const envelope = JSON.stringify({ enc: await encryptPayload(key, text, "user.a.sync") });
    expect(envelope.length).toBeLessThanOrEqual(32 * 1024);
  });
});

function response(contentIds: readonly string[], responder: string): StateReconciliationResponseMessage {
  const state = syncStateEmpty();
  contentIds.forEach((contentId, i) => {
    applyMessageInto(
      state,
      watchlistAddMessage(state, {
        content_id: contentId,
        device_id: responder,
        timestamp: i + 1,
        replica: responder,
      }),
    );
  });
  return stateToChunks(state, 32_000, { serverTimestamp: 10, responderDeviceId: responder })[0]!;
}

function request(id: string): StateReconciliationRequestMessage {
  return {
    msg_type: "state_reconciliation_request",
    device_id: "tv",
    last_known_state_timestamp: 0,
    requested_states: ["Watchlist"],
    request_id: id,
  };
}

describe("ReconciliationResponder", () => {
  it("answers after a delay within the range, once per request id", () => {
    const time = new VirtualTime();
    const answered: Array<{ id: string; at: number }> = [];
    const start = time.now();
    const responder = new ReconciliationResponder(
      time,
      () => 0.5,
      { min: 100, max: 300 },
      (_r, id) => answered.push({ id, at: time.now() - start }),
    );
    responder.onRequest(request("r1"));
    responder.onRequest(request("r1")); // redelivered
    time.advance(199);
    expect(answered).toEqual([]);
    time.advance(1);
    expect(answered).toEqual([{ id: "r1", at: 200 }]);
    time.advance(10_000);
    expect(answered).toHaveLength(1);
  });

  it("passes the join of other devices' answers seen while waiting or before the request", () => {
    const time = new VirtualTime();
    const answered: Array<{ id: string; others: string[] | undefined }> = [];
    const responder = new ReconciliationResponder(
      time,
      () => 0.9,
      { min: 0, max: 1000 },
      (_r, id, others) =>
        answered.push({ id, others: others === undefined ? undefined : watchlistValues(others) }),
    );
    responder.onRequest(request("r1"));
    time.advance(100);
    responder.onOtherResponse("r1", response(["tmdb:550"], "tv"));
    responder.onOtherResponse("r1", response(["tmdb:13"], "web"));
    responder.onOtherResponse("r2", response(["x"], "tv")); // before its request
    responder.onRequest(request("r2"));
    responder.onRequest(request("r3"));
    time.advance(10_000);
    responder.onOtherResponse("r1", response(["late"], "tv")); // after the decision: ignored
    expect(answered).toEqual([
      { id: "r1", others: ["tmdb:13", "tmdb:550"] },
      { id: "r2", others: ["x"] },
      { id: "r3", others: undefined },
    ]);
  });
});
