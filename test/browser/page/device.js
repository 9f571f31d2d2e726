// The web client of the browser tests: the built packages, loaded through the page's import map
// exactly as an app bundler would resolve them, on Chromium's own WebSocket and WebCrypto.
// `window.device` is what the test drives through Playwright.
import { importUserKey } from "@mg-sync/crdt-core";
import { createSyncClient, systemClock, systemRandom, systemScheduler } from "@mg-sync/sync-client";
import { WsTransport } from "@mg-sync/transport-ws";

// Counts the sockets the transport opens; each is still Chromium's own WebSocket.
const NativeWebSocket = globalThis.WebSocket;
let socketsOpened = 0;
globalThis.WebSocket = class CountedWebSocket extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    socketsOpened += 1;
  }
};

const statuses = [];
let client;

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

window.device = {
  async start({ url, token, userId, deviceId, profile, keyBase64 }) {
    const transport = new WsTransport({
      url,
      clientId: deviceId,
      token,
      backoff: { baseMs: 50, maxMs: 300 },
    });
    transport.addListener({ status: (s) => statuses.push(s.type) });
    client = createSyncClient({
      userId,
      deviceId,
      deviceType: profile.deviceType,
      platform: profile.platform,
      appVersion: "1.2.3",
      capabilities: profile.capabilities,
      transport,
      clock: systemClock,
      scheduler: systemScheduler,
      random: systemRandom,
      heartbeatIntervalSec: 1,
      encryptionKey: await importUserKey(fromBase64(keyBase64)),
    });
    await client.start();
  },
  add: (title) => client.watchlist.add(title),
  titles: () => client.watchlist.values(),
  statuses: () => [...statuses],
  socketsOpened: () => socketsOpened,
  stats: () => client.stats(),
  stop: () => client.stop(),
};
