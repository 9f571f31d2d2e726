/**
 * The real-time household (test/scenarios/real-time-household.ts) over a real WsHub on
 * 127.0.0.1: access control on (spec 11.1 user tokens), the household's clock, the sync
 * channel's history kept 5 minutes. A server restart closes the hub and starts a new one on the
 * same port with empty in-memory stores, as a redeployed single-node hub does.
 */
import { WebSocket } from "ws";
import { USER } from "../../../test/scenarios/devices.js";
import { realTimeHousehold, type ServerContext } from "../../../test/scenarios/real-time-household.js";
import { type WebSocketConstructor, WsTransport } from "../src/index.js";
import { defaultRetention, silentLogger, userToken, WsHub } from "../src/server/index.js";

const SECRET = "scenario-secret-0123456789abcdef0123456789";
const SWEEP_MS = 100;

async function startHub(
  { now, retention }: ServerContext,
  port: number,
): Promise<{ hub: WsHub; port: number }> {
  const hub = new WsHub({
    secret: SECRET,
    now,
    retention: (channel) => retention(channel) ?? defaultRetention(channel),
    historySweepIntervalMs: SWEEP_MS,
    presenceSweepIntervalMs: SWEEP_MS,
    pingIntervalMs: 1_000,
    logger: silentLogger,
  });
  try {
    return { hub, port: (await hub.listen(port, "127.0.0.1")).port };
  } catch (error) {
    await hub.close();
    throw error;
  }
}

export function hubHousehold() {
  return realTimeHousehold({
    name: "ws hub",
    async startServer(context) {
      let { hub, port } = await startHub(context, 0);
      const { now } = context;
      return {
        host: "127.0.0.1",
        port,
        sweepMs: 3 * SWEEP_MS,
        openTransport: (deviceId, via) =>
          new WsTransport({
            url: `ws://${via.host}:${via.port}/v1`,
            clientId: deviceId,
            token: () => userToken(SECRET, USER, { nowMs: now() }).token,
            backoff: { baseMs: 20, maxMs: 200 },
            requestTimeoutMs: 2_000,
            pingIntervalMs: 1_000,
            closeTimeoutMs: 500,
            WebSocket: WebSocket as unknown as WebSocketConstructor,
          }),
        async restart(downtimeMs) {
          await hub.close();
          await new Promise((resolve) => setTimeout(resolve, downtimeMs));
          ({ hub } = await startHub(context, port));
        },
        stop: () => hub.close(),
      };
    },
  });
}
