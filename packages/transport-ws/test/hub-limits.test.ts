/**
 * Bad input and every limit of WsHub: each is answered with an error frame or a close code,
 * and the hub keeps serving a bystander connection throughout.
 */
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import {
  CLOSE_BINARY_FRAME,
  CLOSE_FRAME_TOO_LARGE,
  CLOSE_HELLO_TIMEOUT,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_SHUTDOWN,
  CLOSE_SLOW_CONSUMER,
} from "../src/index.js";
import { type HistoryStore, MemoryHistoryStore } from "../src/server/index.js";
import { closeAll, RawClient, raw, startHub, transport, waitFor } from "./support.js";

afterEach(closeAll);

async function insecureHub(options: Parameters<typeof startHub>[0] = {}) {
  const started = await startHub({ insecure: true, ...options });
  const bystander = await raw(started.url, "bystander");
  const stillServing = async (): Promise<void> => {
    const reply = await bystander.request({ op: "ping" });
    expect(reply.ok).toBe(true);
  };
  return { ...started, stillServing };
}

describe("bad input", () => {
  it("answers malformed JSON, non-objects, bad ids and unknown ops with error frames", async () => {
    const { url, stillServing } = await insecureHub();
    const client = await raw(url, "c");
    const cases: [string, number | null, string][] = [
      ["{not json", null, "bad_frame"],
      ["[1,2,3]", null, "bad_frame"],
      ['"text"', null, "bad_frame"],
      ['{"op":"ping"}', null, "bad_frame"],
      ['{"op":"ping","id":-1}', null, "bad_frame"],
      ['{"op":"ping","id":1.5}', null, "bad_frame"],
      ['{"id":41}', 41, "bad_frame"],
      ['{"op":"launch","id":42}', 42, "unknown_op"],
      ['{"op":"publish","id":43,"channel":"user.a.sync"}', 43, "bad_frame"],
      ['{"op":"publish","id":44,"channel":"bad channel","payload":1}', 44, "invalid_argument"],
      ['{"op":"publish","id":45,"channel":"x-pnpres","payload":1}', 45, "invalid_argument"],
      ['{"op":"subscribe","id":46}', 46, "invalid_argument"],
      ['{"op":"subscribe","id":47,"channels":"a.b"}', 47, "bad_frame"],
      ['{"op":"subscribe","id":48,"channels":["a.b"],"since":{"a.b":"soon"}}', 48, "bad_frame"],
      ['{"op":"history","id":49,"channel":"a.b","count":1000}', 49, "invalid_argument"],
      ['{"op":"heartbeat","id":50,"channels":["a.b"],"interval":0}', 50, "invalid_argument"],
      ['{"op":"hello","id":51,"protocol":1,"clientId":"again"}', 51, "invalid_argument"],
      ['{"op":"groupAdd","id":52,"group":"a.b","channels":["x.y"]}', 52, "invalid_argument"],
    ];
    for (const [text, id, code] of cases) {
      const before = client.frames.length;
      client.sendRaw(text);
      await waitFor(() => client.frames.length > before, `a reply to ${text}`);
      expect(client.frames[before], text).toMatchObject({ id, ok: false, error: { code } });
    }
    expect((await client.request({ op: "ping" })).ok).toBe(true);
    await stillServing();
  });

  it("closes with 4400 after too many malformed frames", async () => {
    const { url, stillServing } = await insecureHub({ maxBadFrames: 3 });
    const client = await raw(url, "c");
    for (let i = 0; i < 5; i++) client.sendRaw("nope");
    expect((await client.closed).code).toBe(CLOSE_PROTOCOL_ERROR);
    expect(client.frames.filter((f) => f.ok === false)).toHaveLength(4);
    await stillServing();
  });

  it("closes with 4400 when the first frame is not hello", async () => {
    const { url, stillServing } = await insecureHub();
    const client = new RawClient(url);
    await client.opened;
    client.sendRaw(JSON.stringify({ op: "subscribe", id: 1, channels: ["a.b"] }));
    expect((await client.closed).code).toBe(CLOSE_PROTOCOL_ERROR);
    expect(client.frames[0]).toMatchObject({ id: 1, ok: false, error: { code: "unauthenticated" } });
    await stillServing();
  });

  it("closes with 4400 on an unsupported protocol version", async () => {
    const { url } = await insecureHub();
    const client = new RawClient(url);
    await client.opened;
    client.sendRaw(JSON.stringify({ op: "hello", id: 1, protocol: 99, clientId: "c" }));
    expect((await client.closed).code).toBe(CLOSE_PROTOCOL_ERROR);
  });

  it("closes with 1003 on a binary frame", async () => {
    const { url, stillServing } = await insecureHub();
    const client = await raw(url, "c");
    client.sendRaw(Buffer.from([1, 2, 3]));
    expect((await client.closed).code).toBe(CLOSE_BINARY_FRAME);
    await stillServing();
  });

  it("closes with 1009 on a frame over maxFrameBytes", async () => {
    const { url, hub, stillServing } = await insecureHub({ maxMessageBytes: 1024, maxFrameBytes: 4096 });
    const client = await raw(url, "c");
    client.sendRaw(JSON.stringify({ op: "publish", id: 9, channel: "a.b", payload: "x".repeat(5000) }));
    expect((await client.closed).code).toBe(CLOSE_FRAME_TOO_LARGE);
    expect(hub.metricsText()).toMatch(/mg_sync_hub_connections_closed_total\{code="1009"\} 1/);
    await stillServing();
  });

  it("answers payload_too_large for a payload over maxMessageBytes in a frame under maxFrameBytes", async () => {
    const { url } = await insecureHub({ maxMessageBytes: 1024, maxFrameBytes: 4096 });
    const client = await raw(url, "c");
    const over = await client.request({ op: "publish", channel: "a.b", payload: "é".repeat(512) });
    expect(over).toMatchObject({ ok: false, error: { code: "payload_too_large" } });
    const at = await client.request({ op: "publish", channel: "a.b", payload: "x".repeat(1022) });
    expect(at.ok).toBe(true);
  });

  it("WsTransport rejects an oversize payload before sending anything", async () => {
    const { url, hub } = await insecureHub();
    const device = transport({ url, clientId: "d" });
    await expect(device.publish("a.b", "x".repeat(40_000))).rejects.toMatchObject({
      code: "payload_too_large",
    });
    expect(hub.metricsText()).toMatch(/^mg_sync_hub_messages_in_total 0$/m);
  });
});

describe("limits", () => {
  it("closes a connection that sends no hello with 4408", async () => {
    const { url, stillServing } = await insecureHub({ helloTimeoutMs: 50 });
    const client = new RawClient(url);
    expect((await client.closed).code).toBe(CLOSE_HELLO_TIMEOUT);
    await stillServing();
  });

  it("survives 10 000 rapid subscribe/unsubscribe on one socket, answering each in order", async () => {
    const { url, hub, stillServing } = await insecureHub({ maxPendingRequests: 64 });
    const client = await raw(url, "c");
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const channel = `churn.c${Math.floor(i / 2) % 50}`;
      client.sendRaw(
        JSON.stringify({ op: i % 2 === 0 ? "subscribe" : "unsubscribe", id: 1000 + i, channels: [channel] }),
      );
    }
    const replies = () => client.frames.filter((f) => "ok" in f && (f.id as number) >= 1000);
    await waitFor(() => replies().length >= n, "10 000 replies", 30_000, 20);
    expect(replies().map((f) => f.id)).toEqual(Array.from({ length: n }, (_, i) => 1000 + i));
    expect(replies().every((f) => f.ok === true)).toBe(true);
    expect(hub.subscriptionCount).toBe(0);
    await stillServing();
  }, 40_000);

  it("survives 500 connections opened and dropped", async () => {
    const { url, hub, stillServing } = await insecureHub();
    const batch = 100;
    for (let round = 0; round < 5; round++) {
      const sockets = Array.from({ length: batch }, () => new WebSocket(url));
      await Promise.all(
        sockets.map(
          (socket, i) =>
            new Promise<void>((resolve) => {
              socket.on("error", () => resolve());
              socket.on("open", () => {
                socket.send(JSON.stringify({ op: "hello", id: 1, protocol: 1, clientId: `c${round}-${i}` }));
                socket.send(
                  JSON.stringify({ op: "subscribe", id: 2, channels: [`room.r${i % 7}`], presence: true }),
                );
                // Half vanish at once, half say goodbye properly.
                if (i % 2 === 0) socket.terminate();
                else socket.close(1000);
                resolve();
              });
            }),
        ),
      );
    }
    await waitFor(() => hub.connectionCount === 1, "only the bystander left", 10_000);
    expect(hub.subscriptionCount).toBe(0);
    await stillServing();
  }, 30_000);

  it("refuses upgrades past maxConnections with HTTP 503, and wrong paths with 404", async () => {
    const { url, port, stillServing } = await insecureHub({ maxConnections: 2 });
    await raw(url, "second");
    await expect(new RawClient(url).opened).rejects.toThrow(/503/);
    await expect(new RawClient(`ws://127.0.0.1:${port}/elsewhere`).opened).rejects.toThrow(/404/);
    await stillServing();
  });

  it("refuses subscriptions past maxSubscriptionsPerConnection and names past maxNamesPerRequest", async () => {
    const { url, hub } = await insecureHub({ maxSubscriptionsPerConnection: 5, maxNamesPerRequest: 8 });
    const client = await raw(url, "c");
    expect((await client.request({ op: "subscribe", channels: ["a.1", "a.2", "a.3", "a.4"] })).ok).toBe(true);
    const over = await client.request({ op: "subscribe", channels: ["a.5", "a.6"] });
    expect(over).toMatchObject({ ok: false, error: { code: "limit_exceeded" } });
    expect(hub.subscriptionCount).toBe(4);
    const many = await client.request({
      op: "subscribe",
      channels: Array.from({ length: 9 }, (_, i) => `b.${i}`),
    });
    expect(many).toMatchObject({ ok: false, error: { code: "limit_exceeded" } });
    expect((await client.request({ op: "subscribe", channels: ["a.5"] })).ok).toBe(true);
  });

  it("refuses channels past maxChannelsPerGroup", async () => {
    const { url } = await insecureHub({ maxChannelsPerGroup: 3 });
    const client = await raw(url, "c");
    expect((await client.request({ op: "groupAdd", group: "g", channels: ["a.1", "a.2"] })).ok).toBe(true);
    const over = await client.request({ op: "groupAdd", group: "g", channels: ["a.3", "a.4"] });
    expect(over).toMatchObject({ ok: false, error: { code: "limit_exceeded" } });
    expect((await client.request({ op: "groupList", group: "g" })).result).toEqual({
      channels: ["a.1", "a.2"],
    });
  });

  it("closes a slow consumer with 4429 instead of buffering without bound", async () => {
    const { url, hub, logs, stillServing } = await insecureHub({
      maxBufferedBytes: 256 * 1024,
      closeTimeoutMs: 10_000,
    });
    const slow = await raw(url, "slow");
    await slow.request({ op: "subscribe", channels: ["feed.x"] });
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the hub's
    const publisher = await raw(url, "pub");
    const payload = "x".repeat(16 * 1024);
    let sent = 0;
    // Bounded: at most 2 000 × 16 KiB (32 MiB) before the limit must have tripped.
    while (!logs.some((e) => e.event === "slow-consumer") && sent < 2_000) {
      await publisher.request({ op: "publish", channel: "feed.x", payload, store: false });
      sent++;
    }
    expect(logs.some((e) => e.event === "slow-consumer")).toBe(true);
    slow.socket.resume();
    expect((await slow.closed).code).toBe(CLOSE_SLOW_CONSUMER);
    expect(hub.metricsText()).toMatch(/^mg_sync_hub_slow_consumer_closes_total 1$/m);
    await stillServing();
  }, 30_000);

  it("a catch-up bigger than the send-buffer limit is not mistaken for a slow consumer", async () => {
    // The hub holds a turn's frames to one connection back to write them at once (D25); a
    // catch-up replay must still leave as it is produced, or a healthy reader of a long history
    // would trip the limit meant for a stalled one.
    const { url, stillServing } = await insecureHub({
      maxBufferedBytes: 256 * 1024,
      retention: () => ({ count: 1_000, durationMs: 3_600_000 }),
    });
    const publisher = await raw(url, "pub");
    const payload = "y".repeat(8 * 1024);
    const first = await publisher.request({ op: "publish", channel: "feed.long", payload });
    for (let i = 1; i < 200; i++) await publisher.request({ op: "publish", channel: "feed.long", payload });
    const before = (first.result as { timetoken: string }).timetoken;
    const reader = await raw(url, "reader");
    const reply = await reader.request({
      op: "subscribe",
      channels: ["feed.long"],
      since: { "feed.long": before },
    });
    expect(reply.ok).toBe(true);
    // 199 messages of 8 KiB, 1.6 MB in all: six times the limit, replayed in one go.
    await waitFor(
      () => reader.frames.filter((f) => f.type === "message").length === 199,
      "the whole catch-up",
      10_000,
    );
    expect(reader.socket.readyState).toBe(WebSocket.OPEN);
    await stillServing();
  });

  it("drops a socket that stops answering pings", async () => {
    const { url, hub, stillServing } = await insecureHub({ pingIntervalMs: 50 });
    const mute = new RawClient(url, { autoPong: false });
    await mute.hello("mute");
    await waitFor(() => mute.closeCode !== undefined, "the dead socket to be dropped", 5_000);
    expect(mute.closeCode).toBe(1006);
    expect(hub.metricsText()).toMatch(/^mg_sync_hub_dead_sockets_total 1$/m);
    await stillServing();
  });

  it("shuts down gracefully: answers what it accepted, refuses new work, closes with 1001", async () => {
    // A history store slow enough that requests are still queued when shutdown starts.
    const { store, history: slowStore } = slowHistory(1);
    const { url, hub } = await insecureHub({ history: slowStore });
    const client = await raw(url, "c");
    for (let i = 0; i < 100; i++)
      client.sendRaw(JSON.stringify({ op: "publish", id: 1000 + i, channel: "a.b", payload: i }));
    await waitFor(() => client.frames.some((f) => f.id === 1000), "the first acknowledgement");
    const closing = hub.close();
    const late = await raw(url).catch((error: Error) => error);
    expect(late).toBeInstanceOf(Error);
    await closing;
    expect((await client.closed).code).toBe(CLOSE_SHUTDOWN);
    const acks = client.frames.filter((f) => (f.id as number) >= 1000);
    expect(acks).toHaveLength(100);
    expect(acks.every((f) => f.ok === true)).toBe(true);
    expect(store.size).toBe(100);
    const statusAt = client.frames.findIndex((f) => f.type === "status" && f.event === "shutdown");
    expect(statusAt).toBe(client.frames.length - 1);
  });
});

function slowHistory(delayMs: number): { store: MemoryHistoryStore; history: HistoryStore } {
  const store = new MemoryHistoryStore();
  const history: HistoryStore = {
    append: async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return store.append(...args);
    },
    head: (...args) => store.head(...args),
    after: (...args) => store.after(...args),
    query: (...args) => store.query(...args),
    sweep: (...args) => store.sweep(...args),
    get size() {
      return store.size;
    },
  };
  return { store, history };
}

describe("timeouts and sweeps", () => {
  it("stops reading a socket past maxPendingRequests and resumes when it catches up", async () => {
    const { url, logs } = await insecureHub({ maxPendingRequests: 4, history: slowHistory(2).history });
    const client = await raw(url, "c");
    for (let i = 0; i < 40; i++)
      client.sendRaw(JSON.stringify({ op: "publish", id: 100 + i, channel: "a.b", payload: i }));
    await waitFor(() => client.frames.filter((f) => (f.id as number) >= 100).length === 40, "40 acks");
    expect(logs.some((e) => e.event === "reading-paused")).toBe(true);
    expect(client.frames.filter((f) => (f.id as number) >= 100).every((f) => f.ok === true)).toBe(true);
  });

  it("cuts a connection that does not finish the close handshake within closeTimeoutMs", async () => {
    const { url, hub } = await insecureHub({ closeTimeoutMs: 100, shutdownTimeoutMs: 10_000 });
    const client = await raw(url, "c");
    client.socket.pause(); // never reads the close frame, so never answers it
    const started = Date.now();
    await hub.close(); // done when the hub cut it, long before shutdownTimeoutMs
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(hub.connectionCount).toBe(0);
    client.socket.resume();
    await client.closed;
  });

  it("bounds a graceful shutdown by shutdownTimeoutMs even when requests are still running", async () => {
    const { url, hub } = await insecureHub({ shutdownTimeoutMs: 150, history: slowHistory(1_000).history });
    const client = await raw(url, "c");
    client.sendRaw(JSON.stringify({ op: "publish", id: 5, channel: "a.b", payload: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await hub.close();
    expect(Date.now() - started).toBeLessThan(900);
    await client.closed;
  });

  it("drops history past its retention age on each historySweepIntervalMs", async () => {
    const { url, hub } = await insecureHub({
      historySweepIntervalMs: 20,
      retention: () => ({ count: 100, durationMs: 50 }),
    });
    const client = await raw(url, "c");
    await client.request({ op: "publish", channel: "a.b", payload: 1 });
    expect(hub.stats().historyMessages).toBe(1);
    await waitFor(() => hub.stats().historyMessages === 0, "the sweep", 2_000);
  });

  it("times out a client that never announced an interval after 2 × defaultHeartbeatIntervalSec", async () => {
    const { url } = await insecureHub({ defaultHeartbeatIntervalSec: 0.1, presenceSweepIntervalMs: 10 });
    const watcher = await raw(url, "w");
    await watcher.request({ op: "subscribe", channels: ["a.b"], presence: true });
    const gone = await raw(url, "gone");
    await gone.request({ op: "subscribe", channels: ["a.b"] });
    gone.socket.terminate();
    await waitFor(
      () => watcher.frames.some((f) => f.type === "presence" && f.action === "timeout"),
      "the timeout",
      3_000,
    );
  });

  it("refuses heartbeat intervals outside min/maxHeartbeatIntervalSec", async () => {
    const { url } = await insecureHub({ minHeartbeatIntervalSec: 5, maxHeartbeatIntervalSec: 600 });
    const client = await raw(url, "c");
    for (const interval of [4, 601])
      expect(await client.request({ op: "heartbeat", channels: ["a.b"], interval })).toMatchObject({
        ok: false,
        error: { code: "invalid_argument" },
      });
    expect((await client.request({ op: "heartbeat", channels: ["a.b"], interval: 300 })).ok).toBe(true);
  });

  it("WsTransport gives up on a hub that stops answering pings (pingIntervalMs) and reconnects", async () => {
    // Answers hello, then nothing: the client's ping goes unanswered.
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
    let connections = 0;
    server.on("connection", (socket) => {
      connections++;
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data)) as { op: string; id: number };
        if (frame.op === "hello")
          socket.send(
            JSON.stringify({ id: frame.id, ok: true, result: { protocol: 1, maxMessageBytes: 32768 } }),
          );
      });
    });
    try {
      const { port } = server.address() as AddressInfo;
      const device = transport({
        url: `ws://127.0.0.1:${port}/v1`,
        clientId: "d",
        pingIntervalMs: 30,
        requestTimeoutMs: 60,
      });
      const statuses: string[] = [];
      device.addListener({ status: (s) => statuses.push(s.type) });
      await device.history("a.b").catch(() => {});
      await waitFor(() => connections >= 2, "a reconnect after the unanswered ping", 5_000);
      expect(statuses).toContain("disconnected");
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("WsTransport.close waits closeTimeoutMs for acknowledgements, then rejects what is left with closed", async () => {
    const { url } = await insecureHub({ history: slowHistory(300).history });
    const patient = transport({ url, clientId: "p", closeTimeoutMs: 2_000 });
    await patient.subscribe({ channels: ["a.b"] });
    const acked = patient.publish("a.b", 1);
    await patient.close();
    expect((await acked).timetoken).toMatch(/^\d+$/);
    const hasty = transport({ url, clientId: "h", closeTimeoutMs: 20 });
    await hasty.subscribe({ channels: ["a.b"] });
    const dropped = hasty.publish("a.b", 2).catch((error: unknown) => error);
    await hasty.close();
    expect(await dropped).toMatchObject({ code: "closed" });
  });
});
