/**
 * The spec's scenarios (test/scenarios/spec-scenarios.ts, the same code the memory network
 * runs) with three sync clients over a real WsHub on 127.0.0.1 (issue 6 §4). Each device talks
 * to the hub through its own cuttable TCP proxy; the hub runs with access control (spec 11.1
 * user tokens), the household's clock, and the sync channel's history kept 5 minutes.
 */
import { WebSocket } from "ws";
import { USER } from "../../../test/scenarios/devices.js";
import { realTimeHousehold } from "../../../test/scenarios/real-time-household.js";
import { describeSpecScenarios } from "../../../test/scenarios/spec-scenarios.js";
import { type WebSocketConstructor, WsTransport } from "../src/index.js";
import { defaultRetention, silentLogger, userToken, WsHub } from "../src/server/index.js";

const SECRET = "scenario-secret-0123456789abcdef0123456789";
const SWEEP_MS = 100;

describeSpecScenarios("the WebSocket hub", () =>
  realTimeHousehold({
    name: "ws hub",
    async startServer({ now, retention }) {
      const hub = new WsHub({
        secret: SECRET,
        now,
        retention: (channel) => retention(channel) ?? defaultRetention(channel),
        historySweepIntervalMs: SWEEP_MS,
        presenceSweepIntervalMs: SWEEP_MS,
        pingIntervalMs: 1_000,
        logger: silentLogger,
      });
      const address = await hub.listen(0, "127.0.0.1").catch(async (error: unknown) => {
        await hub.close();
        throw error;
      });
      return {
        host: "127.0.0.1",
        port: address.port,
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
        stop: () => hub.close(),
      };
    },
  }),
);
