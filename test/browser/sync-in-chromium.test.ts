/**
 * The client side runs in browsers (issue 6 §2): the built `@mg-sync/crdt-core`,
 * `@mg-sync/sync-client` and `@mg-sync/transport-ws`, loaded into real Chromium through an import
 * map, run a web device on Chromium's own WebSocket and WebCrypto. It syncs a watchlist both ways
 * with a Node device through a real WsHub (access control on, sync channel encrypted), and comes
 * back by itself after the hub restarts.
 */
import { randomBytes } from "node:crypto";
import { importUserKey, type TransportMessage } from "@mg-sync/crdt-core";
import {
  createSyncClient,
  type SyncClient,
  systemClock,
  systemRandom,
  systemScheduler,
} from "@mg-sync/sync-client";
import { type WebSocketConstructor, WsTransport } from "@mg-sync/transport-ws";
import { silentLogger, userToken, WsHub } from "@mg-sync/transport-ws/server";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type DeviceProfile, PROFILES } from "../scenarios/devices.js";
import { launchChromium } from "./chromium.js";
import { type StaticServer, startStaticServer } from "./static-server.js";

const SECRET = "browser-test-secret-0123456789abcdef012345";
const USER = "alice";
const SYNC = `user.${USER}.sync`;

/** What page/device.js puts on `window`. */
interface BrowserDevice {
  start(options: {
    url: string;
    token: string;
    userId: string;
    deviceId: string;
    profile: DeviceProfile;
    keyBase64: string;
  }): Promise<void>;
  add(title: string): void;
  titles(): string[];
  statuses(): string[];
  socketsOpened(): number;
  stop(): Promise<void>;
}

/** `window.device` inside the page: only ever read in functions `page.evaluate` runs there. */
declare const device: BrowserDevice;

async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: still not true after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function startHub(port = 0): Promise<{ hub: WsHub; port: number }> {
  const hub = new WsHub({ secret: SECRET, logger: silentLogger, pingIntervalMs: 1_000 });
  return { hub, port: (await hub.listen(port, "127.0.0.1")).port };
}

let browser: Browser;
let pages: StaticServer;
let hub: WsHub;
let port: number;
let page: Page;
let tv: SyncClient;
let tvTransport: WsTransport;
const key = randomBytes(32);

beforeAll(async () => {
  browser = await launchChromium();
  pages = await startStaticServer();
});

afterAll(async () => {
  await browser?.close();
  await pages?.close();
});

beforeEach(async () => {
  ({ hub, port } = await startHub());
  const url = `ws://127.0.0.1:${port}/v1`;
  tvTransport = new WsTransport({
    url,
    clientId: "tv-node",
    token: () => userToken(SECRET, USER).token,
    backoff: { baseMs: 50, maxMs: 300 },
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  tv = createSyncClient({
    userId: USER,
    deviceId: "tv-node",
    deviceType: PROFILES.tv.deviceType,
    platform: PROFILES.tv.platform,
    appVersion: "1.2.3",
    capabilities: PROFILES.tv.capabilities,
    transport: tvTransport,
    clock: systemClock,
    scheduler: systemScheduler,
    random: systemRandom,
    heartbeatIntervalSec: 1,
    encryptionKey: await importUserKey(key),
  });
  await tv.start();
  page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(pages.origin);
  await page
    .waitForFunction(() => "device" in globalThis, undefined, { timeout: 10_000 })
    .catch(() => {
      throw new Error(`the page did not load its device: ${errors.join("; ") || "no page error"}`);
    });
  await page.evaluate((options) => device.start(options), {
    url,
    token: userToken(SECRET, USER).token,
    userId: USER,
    deviceId: "web-chromium",
    profile: PROFILES.web,
    keyBase64: key.toString("base64"),
  });
});

afterEach(async () => {
  await page?.evaluate(() => device.stop()).catch(() => {});
  await page?.close();
  await tv?.stop();
  await tvTransport?.close();
  await hub?.close();
});

it("a web device in Chromium and a TV in Node sync a watchlist both ways through the hub, encrypted", async () => {
  tv.watchlist.add("tmdb:550");
  await eventually("Chromium shows the TV's title", async () =>
    (await page.evaluate(() => device.titles())).includes("tmdb:550"),
  );
  await page.evaluate(() => device.add("tmdb:680"));
  await eventually("the TV shows the browser's title", () => tv.watchlist.has("tmdb:680"));
  expect(await page.evaluate(() => device.titles())).toEqual(tv.watchlist.values());
  // Chromium's own WebSocket carried it, and the hub only ever held ciphertext.
  expect(await page.evaluate(() => device.socketsOpened())).toBeGreaterThanOrEqual(1);
  const stored: readonly TransportMessage[] = (await tvTransport.history(SYNC)).messages;
  expect(stored.length).toBeGreaterThanOrEqual(2);
  for (const message of stored) expect(JSON.stringify(message.payload)).not.toMatch(/tmdb:/);
});

it("the browser device comes back by itself after the hub restarts, and catches up", async () => {
  await hub.close();
  await eventually("Chromium notices the hub is gone", async () =>
    (await page.evaluate(() => device.statuses())).includes("disconnected"),
  );
  ({ hub } = await startHub(port));
  tv.watchlist.add("tmdb:13");
  await eventually("Chromium shows the title added after the restart", async () =>
    (await page.evaluate(() => device.titles())).includes("tmdb:13"),
  );
  expect(await page.evaluate(() => device.statuses())).toContain("reconnected");
  expect(await page.evaluate(() => device.socketsOpened())).toBeGreaterThanOrEqual(2);
});
