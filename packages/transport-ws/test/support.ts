/**
 * Test harness: hubs on 127.0.0.1 with free ports, raw `ws` clients that record every frame,
 * and bounded polling. Everything opened here is closed by `closeAll()` (call it in afterEach).
 */
import { WebSocket } from "ws";
import { type WebSocketConstructor, WsTransport, type WsTransportOptions } from "../src/index.js";
import { type LogEntry, WsHub, type WsHubOptions } from "../src/server/index.js";

export const SECRET = "test-secret-0123456789abcdef0123456789abcdef";

const hubs: WsHub[] = [];
const transports: WsTransport[] = [];
const sockets: WebSocket[] = [];

export interface StartedHub {
  readonly hub: WsHub;
  readonly url: string;
  readonly port: number;
  readonly logs: LogEntry[];
}

export async function startHub(options: WsHubOptions = {}): Promise<StartedHub> {
  const logs: LogEntry[] = [];
  const base: WsHubOptions = options.insecure === true ? {} : { secret: SECRET };
  const hub = new WsHub({ ...base, logger: (entry) => logs.push(entry), ...options });
  hubs.push(hub);
  const address = await hub.listen(0, "127.0.0.1");
  return { hub, url: hub.url, port: address.port, logs };
}

export function transport(options: WsTransportOptions): WsTransport {
  const made = new WsTransport({ backoff: { baseMs: 20, maxMs: 200 }, requestTimeoutMs: 5_000, ...options });
  transports.push(made);
  return made;
}

export async function closeAll(): Promise<void> {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
}

/** Polls `condition` every `intervalMs` until it holds; fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what = "condition",
  timeoutMs = 5_000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export type Frame = Record<string, unknown>;

/** A client that speaks raw frames and records everything the hub sends. */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  closeCode: number | undefined;
  #nextId = 1;

  constructor(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
    this.socket = new WebSocket(url, options);
    sockets.push(this.socket);
    this.socket.on("error", () => {});
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("open", () => resolve());
      this.socket.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.socket.once("error", reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.once("close", (code, reason) => {
        this.closeCode = code;
        resolve({ code, reason: reason.toString() });
      });
    });
    this.socket.on("message", (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as Frame);
    });
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Sends a request (an id is added) and resolves with its reply frame. */
  async request(frame: Frame, timeoutMs = 5_000): Promise<Frame> {
    const id = typeof frame.id === "number" ? frame.id : this.#nextId++;
    this.socket.send(JSON.stringify({ ...frame, id }));
    return this.reply(id, timeoutMs);
  }

  async reply(id: number | null, timeoutMs = 5_000): Promise<Frame> {
    let found: Frame | undefined;
    await waitFor(
      () => {
        found = this.frames.find((f) => "ok" in f && f.id === id);
        return found !== undefined;
      },
      `reply ${id}`,
      timeoutMs,
    );
    return found!;
  }

  messages(channel?: string): Frame[] {
    return this.frames.filter(
      (f) => f.type === "message" && (channel === undefined || f.channel === channel),
    );
  }

  async hello(clientId: string, token?: string): Promise<Frame> {
    await this.opened;
    return this.request(
      token === undefined
        ? { op: "hello", protocol: 1, clientId }
        : { op: "hello", protocol: 1, clientId, token },
    );
  }
}

export async function raw(url: string, clientId?: string, token?: string): Promise<RawClient> {
  const client = new RawClient(url);
  await client.opened;
  if (clientId !== undefined) {
    const reply = await client.hello(clientId, token);
    if (reply.ok !== true) throw new Error(`hello failed: ${JSON.stringify(reply)}`);
  }
  return client;
}

/** A `WebSocket` for `WsTransport` that keeps every socket it makes, so a test can cut one. */
export function recordingWebSocket(): {
  WebSocket: WebSocketConstructor;
  sockets: WebSocket[];
  last: () => WebSocket;
} {
  const made: WebSocket[] = [];
  class Recording extends WebSocket {
    constructor(url: string) {
      super(url);
      made.push(this);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Recording as unknown as WebSocketConstructor,
    sockets: made,
    last: () => {
      const socket = made[made.length - 1];
      if (socket === undefined) throw new Error("no socket yet");
      return socket;
    },
  };
}
