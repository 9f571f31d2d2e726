import type { TransportMessage, TransportStatus } from "@mg-sync/crdt-core";
import { afterEach, describe, expect, it } from "vitest";
import { userToken } from "../src/server/index.js";
import { closeAll, raw, recordingWebSocket, SECRET, startHub, transport, waitFor } from "./support.js";

afterEach(closeAll);

const TOKEN = userToken(SECRET, "alice").token;
const SYNC = "user.alice.sync";

describe("catch-up", () => {
  it("replays retained messages after `since` in order, before the reply, then goes live", async () => {
    const { url } = await startHub();
    const publisher = await raw(url, "pub", TOKEN);
    const acks: string[] = [];
    for (let i = 0; i < 10; i++) {
      const reply = await publisher.request({ op: "publish", channel: SYNC, payload: { i } });
      acks.push((reply.result as { timetoken: string }).timetoken);
    }
    const sub = await raw(url, "sub", TOKEN);
    const reply = await sub.request({ op: "subscribe", channels: [SYNC], since: { [SYNC]: acks[3] } });
    const result = reply.result as {
      channels: Record<string, { timetoken: string; gap: boolean; replayed: number }>;
    };
    expect(result.channels[SYNC]).toEqual({ timetoken: acks[9], gap: false, replayed: 6 });
    const replyIndex = sub.frames.indexOf(reply);
    const replayed = sub.frames.slice(0, replyIndex).filter((f) => f.type === "message");
    expect(replayed.map((f) => (f.payload as { i: number }).i)).toEqual([4, 5, 6, 7, 8, 9]);
    await publisher.request({ op: "publish", channel: SYNC, payload: { i: 10 } });
    await waitFor(() => sub.messages(SYNC).length === 7, "live message");
    expect((sub.messages(SYNC)[6]!.payload as { i: number }).i).toBe(10);
  });

  it("reports a gap when retention dropped messages after `since`, and not otherwise", async () => {
    const { url } = await startHub({ retention: () => ({ count: 3, durationMs: 3_600_000 }) });
    const publisher = await raw(url, "pub", TOKEN);
    const acks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await publisher.request({ op: "publish", channel: SYNC, payload: { i } });
      acks.push((reply.result as { timetoken: string }).timetoken);
    }
    const sub = await raw(url, "sub", TOKEN);
    const gapReply = await sub.request({ op: "subscribe", channels: [SYNC], since: { [SYNC]: acks[0] } });
    expect(
      (gapReply.result as { channels: Record<string, { gap: boolean; replayed: number }> }).channels[SYNC],
    ).toMatchObject({
      gap: true,
      replayed: 3,
    });
    const sub2 = await raw(url, "sub2", TOKEN);
    const fine = await sub2.request({ op: "subscribe", channels: [SYNC], since: { [SYNC]: acks[2] } });
    expect(
      (fine.result as { channels: Record<string, { gap: boolean; replayed: number }> }).channels[SYNC],
    ).toMatchObject({
      gap: false,
      replayed: 3,
    });
  });

  it("reports no gap for unstored messages (ephemeral by choice), and a gap for evicted ones and a `since` older than the hub", async () => {
    const { url } = await startHub({ retention: () => ({ count: 2, durationMs: 3_600_000 }) });
    const publisher = await raw(url, "pub", TOKEN);
    const first = await publisher.request({ op: "publish", channel: SYNC, payload: 1 });
    const tt = (first.result as { timetoken: string }).timetoken;
    await publisher.request({ op: "publish", channel: SYNC, payload: 2, store: false });
    const sub = await raw(url, "sub", TOKEN);
    const reply = await sub.request({ op: "subscribe", channels: [SYNC], since: { [SYNC]: tt } });
    expect((reply.result as { channels: Record<string, { gap: boolean }> }).channels[SYNC]!.gap).toBe(false);
    // Two more stored messages evict the first two: a catch-up from before them has a gap.
    await publisher.request({ op: "publish", channel: SYNC, payload: 3 });
    const third = await publisher.request({ op: "publish", channel: SYNC, payload: 4 });
    await publisher.request({ op: "publish", channel: SYNC, payload: 5 });
    expect(third.ok).toBe(true);
    const late = await raw(url, "late", TOKEN);
    const lateReply = await late.request({ op: "subscribe", channels: [SYNC], since: { [SYNC]: tt } });
    expect((lateReply.result as { channels: Record<string, { gap: boolean }> }).channels[SYNC]!.gap).toBe(
      true,
    );
    const old = await raw(url, "old", TOKEN);
    const oldReply = await old.request({
      op: "subscribe",
      channels: ["user.alice.devices"],
      since: { "user.alice.devices": "15000000000000000" },
    });
    expect(
      (oldReply.result as { channels: Record<string, { gap: boolean }> }).channels["user.alice.devices"]!.gap,
    ).toBe(true);
  });

  it("loses nothing published while a subscriber is catching up (no gap at the switch-over)", async () => {
    const { url } = await startHub({ replayPageSize: 7 });
    const publisher = await raw(url, "pub", TOKEN);
    const first = await publisher.request({ op: "publish", channel: SYNC, payload: -1 });
    const since = (first.result as { timetoken: string }).timetoken;
    for (let i = 0; i < 50; i++)
      publisher.sendRaw(JSON.stringify({ op: "publish", id: 100 + i, channel: SYNC, payload: i }));
    // Subscribe while the burst is being stored: some of it is replayed, the rest arrives live.
    const sub = await raw(url, "sub", TOKEN);
    const reply = await sub.request({ op: "subscribe", channels: [SYNC], since: { [SYNC]: since } });
    expect(reply.ok).toBe(true);
    for (let i = 50; i < 100; i++)
      publisher.sendRaw(JSON.stringify({ op: "publish", id: 100 + i, channel: SYNC, payload: i }));
    await waitFor(() => new Set(sub.messages(SYNC).map((f) => f.payload)).size === 100, "all 100 messages");
    const timetokens = sub.messages(SYNC).map((f) => BigInt(f.timetoken as string));
    for (let i = 1; i < timetokens.length; i++) expect(timetokens[i]! > timetokens[i - 1]!).toBe(true);
    expect(sub.messages(SYNC).map((f) => f.payload)).toEqual([...Array(100).keys()]);
  });

  it("WsTransport catches up after its socket is cut and reports reconnected without a gap", async () => {
    const { url } = await startHub();
    const sockets = recordingWebSocket();
    const device = transport({ url, clientId: "tv", token: TOKEN, WebSocket: sockets.WebSocket });
    const got: TransportMessage[] = [];
    const statuses: TransportStatus[] = [];
    device.addListener({ message: (m) => got.push(m), status: (s) => statuses.push(s) });
    await device.subscribe({ channels: [SYNC] });
    const other = transport({ url, clientId: "phone", token: TOKEN });
    await other.publish(SYNC, 0);
    await waitFor(() => got.length === 1, "first message");
    // Cut the device's TCP connection (no close frame), then publish while it is away.
    sockets.last().terminate();
    await waitFor(() => statuses.some((s) => s.type === "disconnected"), "the cut");
    for (let i = 1; i <= 5; i++) await other.publish(SYNC, i);
    await waitFor(() => statuses.some((s) => s.type === "reconnected"), "reconnected");
    await waitFor(() => got.length >= 6, "caught up");
    expect([...new Set(got.map((m) => m.payload))]).toEqual([0, 1, 2, 3, 4, 5]);
    const reconnected = statuses.find((s) => s.type === "reconnected");
    expect(reconnected).toMatchObject({ type: "reconnected", gap: false, lastTimetoken: got[0]!.timetoken });
    expect(statuses.map((s) => s.type)).toEqual(["connected", "disconnected", "reconnected"]);
  });
});
