import type { TransportMessage } from "@mg-sync/crdt-core";
import { afterEach, describe, expect, it } from "vitest";
import { userToken } from "../src/server/index.js";
import { closeAll, raw, SECRET, startHub, transport, waitFor } from "./support.js";

afterEach(closeAll);

describe("WsHub + WsTransport basics", () => {
  it("publishes, delivers to subscribers in order, and acknowledges with increasing timetokens", async () => {
    const { url } = await startHub();
    const alice = userToken(SECRET, "alice").token;
    const a = transport({ url, clientId: "tv", token: alice });
    const b = transport({ url, clientId: "phone", token: alice });
    const got: TransportMessage[] = [];
    b.addListener({ message: (m) => got.push(m) });
    await b.subscribe({ channels: ["user.alice.sync"] });
    const acks = [];
    for (let i = 0; i < 20; i++) acks.push(await a.publish("user.alice.sync", { i }));
    await waitFor(() => got.length === 20, "20 messages");
    expect(got.map((m) => (m.payload as { i: number }).i)).toEqual([...Array(20).keys()]);
    expect(got.map((m) => m.timetoken)).toEqual(acks.map((a) => a.timetoken));
    for (let i = 1; i < acks.length; i++)
      expect(BigInt(acks[i]!.timetoken) > BigInt(acks[i - 1]!.timetoken)).toBe(true);
    expect(got[0]!.publisher).toBe("tv");
    expect(got[0]!.subscription).toBe("user.alice.sync");
    const history = await b.history("user.alice.sync", { count: 5 });
    expect(history.messages.map((m) => (m.payload as { i: number }).i)).toEqual([15, 16, 17, 18, 19]);
  });

  it("answers a raw ping", async () => {
    const { url } = await startHub({ insecure: true });
    const client = await raw(url, "c1");
    const reply = await client.request({ op: "ping" });
    expect(reply).toMatchObject({ ok: true });
  });
});
