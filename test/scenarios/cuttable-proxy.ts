/**
 * One device's network link, as a TCP proxy on 127.0.0.1 in front of the real server: the
 * device connects to the proxy, the proxy to the server. `cut()` is the device losing its
 * network: every connection it has is torn down at once and new ones are refused until
 * `restore()`. The server is not told anything (no close frame, no leave): it sees sockets end
 * and must time the device out, as after a real network loss (spec 8.2 scenario 2).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export class CuttableProxy {
  readonly #server: Server;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #pairs = new Set<readonly [Socket, Socket]>();
  #cut = false;

  private constructor(target: { readonly host: string; readonly port: number }) {
    this.#target = target;
    this.#server = createServer((downstream) => this.#accept(downstream));
  }

  /** A proxy on a free port of 127.0.0.1 forwarding to `target`. */
  static async start(target: { readonly host: string; readonly port: number }): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once("error", reject);
      proxy.#server.listen(0, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("proxy is not listening");
    return address.port;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  cut(): void {
    this.#cut = true;
    for (const [down, up] of this.#pairs) {
      down.destroy();
      up.destroy();
    }
    this.#pairs.clear();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(downstream: Socket): void {
    if (this.#cut) {
      downstream.destroy();
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    const pair = [downstream, upstream] as const;
    this.#pairs.add(pair);
    const end = (): void => {
      this.#pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on("error", end);
    upstream.on("error", end);
    downstream.on("close", end);
    upstream.on("close", end);
    downstream.setNoDelay(true);
    upstream.setNoDelay(true);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  }
}
