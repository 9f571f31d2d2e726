/**
 * `--transport ws`: a `WsHub` started in-process on a free port of 127.0.0.1, with a fresh
 * secret and spec 11.1's user tokens, and a `WsTransport` per device. A device "loses its
 * network" when its socket is cut and its reconnect attempts meet a closed port, until the
 * demo lets them through again; the transport's own reconnect and catch-up do the rest.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { Transport } from "@mg-sync/crdt-core";
import { type WebSocketConstructor, WsTransport } from "@mg-sync/transport-ws";
import { silentLogger, userToken, WsHub } from "@mg-sync/transport-ws/server";
import { WebSocket } from "ws";
import { count } from "../format-time.js";
import { RealTimeDriver } from "./real-time.js";

/** A port nothing listens on: connecting to it fails at once, as with no network. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export class WsDriver extends RealTimeDriver {
  readonly name = "ws";
  readonly userId = "alice";
  readonly description: string;
  readonly #hub: WsHub;
  readonly #secret: Buffer;
  readonly #deadUrl: string;
  readonly #down = new Set<string>();
  readonly #sockets = new Map<string, Set<WebSocket>>();
  readonly #transports: WsTransport[] = [];

  private constructor(hub: WsHub, secret: Buffer, deadPort: number) {
    super();
    this.#hub = hub;
    this.#secret = secret;
    this.#deadUrl = `ws://127.0.0.1:${deadPort}/v1`;
    this.description = `WsHub in this process at ${hub.url}, HMAC-signed user tokens (spec 11.1); real time`;
  }

  static async start(): Promise<WsDriver> {
    const secret = randomBytes(32);
    const hub = new WsHub({
      secret,
      logger: silentLogger,
      // Presence timeouts are 2 × the 1 s heartbeats the demo announces: check them often.
      presenceSweepIntervalMs: 100,
    });
    await hub.listen(0, "127.0.0.1");
    return new WsDriver(hub, secret, await closedPort());
  }

  transport(deviceId: string): Transport {
    const driver = this;
    const sockets = new Set<WebSocket>();
    this.#sockets.set(deviceId, sockets);
    class DeviceSocket extends WebSocket {
      constructor(url: string) {
        super(driver.#down.has(deviceId) ? driver.#deadUrl : url);
        sockets.add(this);
        this.on("close", () => sockets.delete(this));
      }
    }
    const transport = new WsTransport({
      url: this.#hub.url,
      clientId: deviceId,
      token: () => userToken(this.#secret, this.userId).token,
      backoff: { baseMs: 50, maxMs: 400 },
      requestTimeoutMs: 3_000,
      // ws's typings declare event-typed handlers; at run time it is the WebSocket WsTransport expects.
      WebSocket: DeviceSocket as unknown as WebSocketConstructor,
    });
    this.#transports.push(transport);
    return transport;
  }

  disconnect(deviceId: string): void {
    this.#down.add(deviceId);
    for (const socket of this.#sockets.get(deviceId) ?? []) socket.terminate();
  }

  reconnect(deviceId: string): void {
    this.#down.delete(deviceId);
  }

  counters(): string {
    const stats = this.#hub.stats();
    return `hub: ${count(stats.messagesIn)} messages in, ${count(stats.messagesOut)} out, ${count(stats.bytesOut / 1024)} KiB out, ${count(stats.connectionsOpened)} connections opened`;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#transports.map((t) => t.close()));
    await this.#hub.close();
  }
}
