/**
 * The real-time household (test/scenarios/real-time-household.ts) over the unmodified PubNub SDK
 * and the local PubNub emulator on 127.0.0.1: Access Manager on (each device holds a spec 11.1
 * token minted by a server-side SDK instance), the emulator and the transports read the
 * household's clock, the sync channel keeps 5 minutes of history. A server restart stops the
 * emulator and starts it on the same port with its state kept, as PubNub's storage outlives a
 * front-end failure; error answers are the emulator's fault injection.
 */
import { channelRetention, DEFAULT_CHANNEL_RETENTION, parseChannel } from "@mg-sync/crdt-core";
import PubNub from "pubnub";
import { DEVICE_NAMES, PROFILES, USER } from "../../../test/scenarios/devices.js";
import { realTimeHousehold } from "../../../test/scenarios/real-time-household.js";
import { PubNubEmulator } from "../src/emulator/index.js";
import { PubNubTransport, userTokenGrant } from "../src/index.js";

const KEYSET = {
  subscribeKey: "sub-c-scenarios",
  publishKey: "pub-c-scenarios",
  secretKey: "sec-c-scenarios",
};

function projectRetention(channel: string) {
  return parseChannel(channel).ok ? channelRetention(channel) : DEFAULT_CHANNEL_RETENTION;
}

export function emulatorHousehold() {
  return realTimeHousehold({
    name: "pubnub emulator",
    async startServer({ now, retention }) {
      const history = (channel: string) => retention(channel) ?? projectRetention(channel);
      const emulator = await PubNubEmulator.start({ keysets: [KEYSET], now, retention: history });
      // Tokens come from a server, never a device (spec 11.1): one per device id.
      const server = new PubNub({
        origin: emulator.origin,
        ssl: false,
        subscribeKey: KEYSET.subscribeKey,
        publishKey: KEYSET.publishKey,
        secretKey: KEYSET.secretKey,
        userId: "token-service",
      });
      const tokens = new Map<string, string>();
      try {
        for (const name of DEVICE_NAMES) {
          const deviceId = PROFILES[name].deviceId;
          tokens.set(deviceId, await server.grantToken(userTokenGrant(USER, deviceId)));
        }
      } catch (error) {
        await emulator.stop();
        throw error;
      } finally {
        server.destroy(true);
      }
      const [host, port] = emulator.origin.split(":");
      return {
        host: host!,
        port: Number(port),
        sweepMs: 50,
        openTransport: (deviceId, via) =>
          new PubNubTransport({
            origin: `${via.host}:${via.port}`,
            ssl: false,
            subscribeKey: KEYSET.subscribeKey,
            publishKey: KEYSET.publishKey,
            userId: deviceId,
            token: tokens.get(deviceId)!,
            heartbeatIntervalSeconds: 1,
            // A cut device notices at once and comes back quickly once its network does.
            retryConfiguration: PubNub.NoneRetryPolicy(),
            reconnectBackoff: { baseMs: 100, maxMs: 400 },
            retention: history,
            now,
          }),
        restart: (downtimeMs) => emulator.restart(downtimeMs),
        failRequests: (count, status) => {
          const fault = emulator.injectFault({
            times: count,
            action: { type: "status", status, ...(status === 429 ? { retryAfterSeconds: 1 } : {}) },
          });
          return () => fault.hits;
        },
        stop: () => emulator.stop(),
      };
    },
  });
}
