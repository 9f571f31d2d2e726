/**
 * The server side of the transport benchmarks (issue 8 §3), run in a worker thread so it has a
 * core of its own, as a hub would in production; the clients (publisher and subscribers) stay on
 * the main thread, where the latency stamps are written and read. Started by `startServer`
 * (`transport-load.ts`) through `worker-boot.mjs`.
 *
 * Three servers, all on 127.0.0.1 with a free port:
 *   - `raw-ws`: the ceiling, a `ws` server that does nothing but fan-out. A frame is
 *     `s<channel>` (subscribe; answered `k<channel>`) or `p<channel>\n<payload>` (sent as it is,
 *     the same bytes, to every subscriber of the channel, the publisher too if it subscribed).
 *     No parsing, no acknowledgement, no history, no access control.
 *   - `ws-hub`: `WsHub` with its defaults and access control on (HMAC tokens, spec 11.1 grants).
 *   - `pubnub`: `PubNubEmulator` with its defaults (no Access Manager).
 *
 * The main thread sends `{ id, op }` (`elu-mark`, `elu-read`, `stats`, `stop`) and gets
 * `{ id, result }` or `{ id, error }`; `stop` closes the server before answering.
 */
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { PubNubEmulator } from "@mg-sync/transport-pubnub/emulator";
import { silentLogger, WsHub } from "@mg-sync/transport-ws/server";
import { type RawData, type WebSocket, WebSocketServer } from "ws";

export type ServerKind = "raw-ws" | "ws-hub" | "pubnub";

export interface ServerWorkerData {
  readonly entry: string;
  readonly kind: ServerKind;
  /** The hub's token secret, base64 (ws-hub only). */
  readonly secret?: string;
}

export interface ServerRequest {
  readonly id: number;
  readonly op: "elu-mark" | "elu-read" | "stats" | "stop";
}

export type ServerReply =
  | { readonly type: "ready"; readonly address: string }
  | { readonly type: "failed"; readonly error: string }
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: string };

interface Running {
  readonly address: string;
  stats(): unknown;
  stop(): Promise<void>;
}

const NEWLINE = 0x0a;
const SUBSCRIBE = 0x73; // "s"
const PUBLISH = 0x70; // "p"

async function startRawWs(): Promise<Running> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const channels = new Map<string, WebSocket[]>();
  let fannedOut = 0;
  wss.on("connection", (socket) => {
    const mine: string[] = [];
    socket.on("message", (data: RawData) => {
      const frame = data as Buffer;
      if (frame[0] === PUBLISH) {
        const end = frame.indexOf(NEWLINE);
        const subscribers = channels.get(frame.toString("latin1", 1, end));
        if (subscribers === undefined) return;
        for (const subscriber of subscribers) subscriber.send(frame, { binary: false });
        fannedOut += subscribers.length;
      } else if (frame[0] === SUBSCRIBE) {
        const channel = frame.toString("latin1", 1);
        const list = channels.get(channel);
        if (list === undefined) channels.set(channel, [socket]);
        else list.push(socket);
        mine.push(channel);
        socket.send(`k${channel}`);
      }
    });
    socket.on("close", () => {
      for (const channel of mine) {
        const list = channels.get(channel);
        if (list === undefined) continue;
        const at = list.indexOf(socket);
        if (at >= 0) list.splice(at, 1);
        if (list.length === 0) channels.delete(channel);
      }
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    address: `ws://127.0.0.1:${port}`,
    stats: () => ({ connections: wss.clients.size, fannedOut }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

async function startHub(secret: string): Promise<Running> {
  const hub = new WsHub({ secret: Buffer.from(secret, "base64"), logger: silentLogger });
  await hub.listen(0, "127.0.0.1");
  return { address: hub.url, stats: () => hub.stats(), stop: () => hub.close() };
}

async function startPubNub(): Promise<Running> {
  const emulator = await PubNubEmulator.start({ port: 0 });
  return { address: emulator.origin, stats: () => ({}), stop: () => emulator.stop() };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("transport-servers.ts runs as a worker thread");
  const data = workerData as ServerWorkerData;
  let running: Running;
  try {
    running =
      data.kind === "raw-ws"
        ? await startRawWs()
        : data.kind === "ws-hub"
          ? await startHub(data.secret ?? "")
          : await startPubNub();
  } catch (error) {
    port.postMessage({ type: "failed", error: String(error) } satisfies ServerReply);
    return;
  }
  let mark = performance.eventLoopUtilization();
  port.on("message", (request: ServerRequest) => {
    const reply = (result: unknown): void =>
      port.postMessage({ id: request.id, result } satisfies ServerReply);
    switch (request.op) {
      case "elu-mark":
        mark = performance.eventLoopUtilization();
        reply(null);
        return;
      case "elu-read":
        reply(performance.eventLoopUtilization(mark).utilization);
        return;
      case "stats":
        reply(running.stats());
        return;
      case "stop":
        running.stop().then(
          () => {
            reply(null);
            port.close();
          },
          (error: unknown) => {
            port.postMessage({ id: request.id, error: String(error) } satisfies ServerReply);
            port.close();
          },
        );
        return;
    }
  });
  port.postMessage({ type: "ready", address: running.address } satisfies ServerReply);
}

void main();
