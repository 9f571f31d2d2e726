/**
 * Connections cut in the middle of things (issue 6, section 4): nothing acknowledged is lost,
 * nothing queued is dropped in silence, and a hub restart is reported as a gap.
 */

import type { AddressInfo } from "node:net";
import type { TransportMessage, TransportStatus } from "@mg-sync/crdt-core";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { WsHub } from "../src/server/index.js";
import { closeAll, recordingWebSocket, startHub, transport, waitFor } from "./support.js";

afterEach(closeAll);

const CH = "party.chaos";

describe("chaos", () => {
  it("a publisher and a subscriber cut mid-burst of 1 000: every acknowledged message arrives, in order per publisher", async () => {
    const { url, hub } = await startHub({
      insecure: true,
      retention: () => ({ count: 10_000, durationMs: 3_600_000 }),
    });
    const pubSockets = recordingWebSocket();
    const subSockets = recordingWebSocket();
    const publisher = transport({ url, clientId: "pub", WebSocket: pubSockets.WebSocket });
    const subscriber = transport({ url, clientId: "sub", WebSocket: subSockets.WebSocket });
    const got: TransportMessage[] = [];
    const subStatuses: TransportStatus[] = [];
    const pubStatuses: TransportStatus[] = [];
    let subscriberCut = false;
    subscriber.addListener({
      status: (s) => subStatuses.push(s),
      message: (m) => {
        got.push(m);
        if (!subscriberCut && got.length === 500) {
          subscriberCut = true;
          subSockets.last().terminate();
        }
      },
    });
    publisher.addListener({ status: (s) => pubStatuses.push(s) });
    await subscriber.subscribe({ channels: [CH] });
    // 300 acknowledged, then 700 handed over and the socket killed at once: 700 in flight,
    // none acknowledged, when the connection dies. (Cutting on the 300th ack instead would race
    // the hub, which acknowledges a whole burst in one write.)
    let acked = 0;
    const publish = (seq: number): Promise<string> =>
      publisher.publish(CH, { seq }).then((ack) => {
        acked++;
        return ack.timetoken;
      });
    const first = await Promise.all(Array.from({ length: 300 }, (_, seq) => publish(seq)));
    const rest = Array.from({ length: 700 }, (_, i) => publish(300 + i));
    pubSockets.last().terminate();
    const publisherCut = acked === 300;
    const timetokens = [...first, ...(await Promise.all(rest))]; // every publish resolves: none rejected, none dropped
    expect(publisherCut && subscriberCut).toBe(true);
    expect(pubStatuses.map((s) => s.type)).toContain("reconnected");
    await waitFor(
      () => {
        const seen = new Set(got.map((m) => m.timetoken));
        return timetokens.every((tt) => seen.has(tt));
      },
      "every acknowledged message at the subscriber",
      20_000,
    );
    const firstSeen = [...new Set(got.map((m) => (m.payload as { seq: number }).seq))];
    expect(firstSeen).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(subStatuses.find((s) => s.type === "reconnected")).toMatchObject({ gap: false });
    // The hub stored at least every acknowledged message (resends after the cut may add duplicates).
    expect(hub.stats().historyMessages).toBeGreaterThanOrEqual(1_000);
  }, 40_000);

  it("queues publishes while the hub is down (bounded) and delivers them when it is back; a restart is a gap", async () => {
    const first = await startHub({ insecure: true });
    const port = first.port;
    const publisher = transport({ url: first.url, clientId: "pub", maxQueuedPublishes: 5 });
    const subscriber = transport({ url: first.url, clientId: "sub" });
    const statuses: TransportStatus[] = [];
    const got: TransportMessage[] = [];
    subscriber.addListener({ status: (s) => statuses.push(s), message: (m) => got.push(m) });
    await subscriber.subscribe({ channels: [CH] });
    await publisher.publish(CH, "before");
    await waitFor(() => got.length === 1, "the first message");
    await first.hub.close();
    await waitFor(() => !publisher.connected, "the publisher to notice");
    const queued = [1, 2, 3, 4, 5].map((n) => publisher.publish(CH, n));
    await expect(publisher.publish(CH, 6)).rejects.toMatchObject({ code: "queue_full" });
    expect(publisher.queuedPublishes).toBe(5);
    const second = new WsHub({ insecure: true, logger: () => {} });
    try {
      await second.listen(port, "127.0.0.1");
      await Promise.all(queued);
      await waitFor(
        () => statuses.some((s) => s.type === "reconnected"),
        "the subscriber to reconnect",
        10_000,
      );
      // The new hub cannot know what happened before it started: the subscriber must reconcile.
      expect(statuses.find((s) => s.type === "reconnected")).toMatchObject({ gap: true });
      await waitFor(() => got.length >= 6, "the queued messages", 10_000);
      expect(got.map((m) => m.payload)).toEqual(["before", 1, 2, 3, 4, 5]);
    } finally {
      await publisher.close();
      await subscriber.close();
      await second.close();
    }
  }, 30_000);

  it("a hub that stops answering is given up on: the connection is dropped and retried, queued publishes wait", async () => {
    // A black hole on 127.0.0.1: accepts WebSocket connections, never answers a frame.
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
    let connections = 0;
    server.on("connection", () => connections++);
    try {
      const { port } = server.address() as AddressInfo;
      const device = transport({ url: `ws://127.0.0.1:${port}/v1`, clientId: "d", requestTimeoutMs: 100 });
      const published = device.publish(CH, 1).catch((error: unknown) => error);
      await expect(device.hereNow({ channels: [CH] })).rejects.toMatchObject({
        code: "network",
        retryable: true,
      });
      await waitFor(() => connections >= 2, "a reconnect after the unanswered hello", 5_000);
      expect(device.queuedPublishes).toBe(1);
      await device.close();
      expect(await published).toMatchObject({ code: "closed" });
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
