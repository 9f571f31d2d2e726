/**
 * docs/protocol.md §9 is enough to write a client: this file is one, written from that text
 * alone. It uses the `ws` library and `node:crypto`, nothing of this package but `WsHub` to
 * have a hub to talk to; every frame, field, code and the token format below come from the doc.
 * A second test keeps the doc complete: every op, error code and close code the code knows is
 * documented.
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import * as frames from "../src/frames.js";
import { WS_HUB_DEFAULTS, WsHub } from "../src/server/index.js";

const HUB_SECRET = "doc-client-secret-0123456789abcdef0123456789";
let hub: WsHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

// ---- §9.14: a token is mgs1.PAYLOAD.SIGNATURE -------------------------------------------------
function docToken(uid: string, grants: object, ttlSeconds = 3600): string {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { v: 1, tid: randomUUID(), uid, iat, exp: iat + ttlSeconds, grants };
  const payload = Buffer.from(JSON.stringify(claims), "utf8").toString("base64url");
  const signature = createHmac("sha256", Buffer.from(HUB_SECRET, "utf8"))
    .update(`mgs1.${payload}`, "ascii")
    .digest("base64url");
  return `mgs1.${payload}.${signature}`;
}

// ---- §9.1–9.2: a minimal client ---------------------------------------------------------------
type Json = Record<string, unknown>;

class DocClient {
  readonly pushed: Json[] = [];
  /** Replies with `"id": null`: answers to frames whose id could not be read. */
  readonly unreadable: Json[] = [];
  readonly #replies = new Map<number, (reply: Json) => void>();
  #id = 0;
  readonly closed: Promise<number>;
  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as Json;
      if ("ok" in frame && frame.id === null) this.unreadable.push(frame);
      else if ("ok" in frame) this.#replies.get(frame.id as number)?.(frame);
      else this.pushed.push(frame);
    });
    this.closed = new Promise((resolve) => socket.on("close", (code) => resolve(code)));
  }

  static async connect(url: string): Promise<DocClient> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    return new DocClient(socket);
  }

  call(op: string, fields: Json = {}): Promise<Json> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#replies.set(id, resolve);
      this.socket.send(JSON.stringify({ op, id, ...fields }));
    });
  }

  async result(op: string, fields: Json = {}): Promise<Json> {
    const reply = await this.call(op, fields);
    if (reply.ok !== true) throw new Error(`${op}: ${JSON.stringify(reply.error)}`);
    return reply.result as Json;
  }

  messages(channel: string): Json[] {
    return this.pushed.filter((f) => f.type === "message" && f.channel === channel);
  }
}

async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe("a client written from docs/protocol.md §9 alone", () => {
  it("says hello, publishes, subscribes, catches up, queries history and presence, and meets the errors", async () => {
    hub = new WsHub({ secret: HUB_SECRET, logger: () => {} });
    const { port } = await hub.listen(0, "127.0.0.1");
    const url = `ws://127.0.0.1:${port}/v1`;
    const grants = {
      channels: { "user.alice.sync": ["read", "write"], "user.alice.devices": ["read", "write"] },
      channelPatterns: { "global.*": ["read"] },
      groups: { "user-alice-all": ["read", "manage"] },
    };

    // §9.3 hello
    const tv = await DocClient.connect(url);
    const hello = await tv.result("hello", { protocol: 1, clientId: "tv", token: docToken("alice", grants) });
    expect(hello).toMatchObject({ protocol: 1, clientId: "tv", userId: "alice", maxMessageBytes: 32768 });

    // §9.4 publish → {timetoken}
    const sync = "user.alice.sync";
    const t: string[] = [];
    for (let i = 0; i < 5; i++)
      t.push(
        (await tv.result("publish", { channel: sync, payload: { i }, meta: { n: i } })).timetoken as string,
      );
    expect(t.map(BigInt)).toEqual([...t.map(BigInt)].sort((a, b) => (a < b ? -1 : 1)));

    // §9.5 subscribe with since: replayed messages come before the reply, oldest first
    const phone = await DocClient.connect(url);
    await phone.result("hello", { protocol: 1, clientId: "phone", token: docToken("alice", grants) });
    const sub = await phone.result("subscribe", {
      channels: [sync, "user.alice.devices"],
      presence: true,
      since: { [sync]: t[1] },
    });
    expect(sub).toEqual({
      channels: {
        [sync]: { timetoken: t[4], gap: false, replayed: 3 },
        "user.alice.devices": { timetoken: expect.any(String), gap: false, replayed: 0 },
      },
      groups: {},
    });
    expect(
      phone.messages(sync).map((m) => [m.timetoken, m.payload, m.meta, m.publisher, m.subscription]),
    ).toEqual([
      [t[2], { i: 2 }, { n: 2 }, "tv", sync],
      [t[3], { i: 3 }, { n: 3 }, "tv", sync],
      [t[4], { i: 4 }, { n: 4 }, "tv", sync],
    ]);
    // …then live
    const live = (await tv.result("publish", { channel: sync, payload: "live" })).timetoken;
    await eventually(() => phone.messages(sync).some((m) => m.timetoken === live));

    // §9.7 history: the newest `count` of the range, oldest first
    const history = await phone.result("history", { channel: sync, end: t[1], count: 2 });
    expect((history.messages as Json[]).map((m) => m.timetoken)).toEqual([t[4], live]);

    // §9.8 presence
    const devices = "user.alice.devices";
    await tv.result("heartbeat", { channels: [devices], interval: 300, state: { activity: "Idle" } });
    await eventually(() =>
      phone.pushed.some((f) => f.type === "presence" && f.uuid === "tv" && f.action === "join"),
    );
    const join = phone.pushed.find((f) => f.type === "presence" && f.uuid === "tv")!;
    expect(join).toMatchObject({
      channel: devices,
      action: "join",
      occupancy: 2,
      state: { activity: "Idle" },
    });
    expect(await phone.result("hereNow", { channels: [devices], state: true })).toEqual({
      channels: {
        [devices]: {
          occupancy: 2,
          occupants: [{ uuid: "phone" }, { uuid: "tv", state: { activity: "Idle" } }],
        },
      },
    });

    // §9.9 groups, §9.10 ping
    await tv.result("groupAdd", { group: "user-alice-all", channels: [sync] });
    expect(await tv.result("groupList", { group: "user-alice-all" })).toEqual({ channels: [sync] });
    expect((await tv.result("ping")).timetoken).toMatch(/^\d+$/);

    // §9.2 errors: the connection stays usable after each
    expect(await tv.call("publish", { channel: "user.bob.sync", payload: 1 })).toMatchObject({
      ok: false,
      error: { code: "access_denied" },
    });
    expect(await tv.call("publish", { channel: sync, payload: "é".repeat(20_000) })).toMatchObject({
      ok: false,
      error: { code: "payload_too_large" },
    });
    expect(await tv.call("teleport")).toMatchObject({ ok: false, error: { code: "unknown_op" } });
    expect(await tv.call("history", { channel: "no spaces allowed" })).toMatchObject({
      ok: false,
      error: { code: "invalid_argument" },
    });
    tv.socket.send("{oops");
    await eventually(() => tv.unreadable.length === 1);
    expect(tv.unreadable[0]).toMatchObject({ id: null, ok: false, error: { code: "bad_frame" } });
    expect((await tv.result("ping")).timetoken).toBeDefined();

    // §9.8 + §9.12: a normal close (1000) is a leave at once
    tv.socket.close(1000);
    await eventually(() =>
      phone.pushed.some((f) => f.type === "presence" && f.uuid === "tv" && f.action === "leave"),
    );

    // §9.3 / §9.12: a forged token → unauthenticated, close 4401
    const forger = await DocClient.connect(url);
    const forged = docToken("alice", grants).replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect(await forger.call("hello", { protocol: 1, clientId: "x", token: forged })).toMatchObject({
      ok: false,
      error: { code: "unauthenticated" },
    });
    expect(await forger.closed).toBe(4401);

    // §9.1: a binary frame → close 1003
    const binary = await DocClient.connect(url);
    binary.socket.send(Buffer.from([0]));
    expect(await binary.closed).toBe(1003);

    // §9.11 / §9.12: graceful shutdown → status shutdown, then 1001
    const closing = hub.close();
    expect(await phone.closed).toBe(1001);
    expect(phone.pushed.at(-1)).toEqual({ type: "status", event: "shutdown" });
    await closing;
    hub = undefined;
  });
});

describe("docs/protocol.md §9 is complete", () => {
  const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## 9. WebSocket hub"));

  it("documents every op, error code, close code and limit", () => {
    for (const op of frames.HUB_OPS) expect(section, op).toContain(`\`${op}\``);
    for (const code of frames.HUB_ERROR_CODES) expect(section, code).toContain(`\`${code}\``);
    const closeCodes = Object.entries(frames)
      .filter(([name]) => name.startsWith("CLOSE_"))
      .map(([, value]) => value as number);
    for (const code of closeCodes) expect(section, String(code)).toMatch(new RegExp(`^\\| ${code} \\|`, "m"));
    for (const [option, value] of Object.entries(WS_HUB_DEFAULTS)) {
      const row = section.split("\n").find((line) => line.startsWith(`| \`${option}\` |`));
      expect(row, option).toBeDefined();
      expect(row!.replace(/[ |`]/g, "").replace(option, "")).toBe(String(value));
    }
  });
});
