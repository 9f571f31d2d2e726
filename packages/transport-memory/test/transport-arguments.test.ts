/** Bad arguments reject with typed errors before anything is sent (crdt-core `transport.ts`). */
import { TransportError } from "@mg-sync/crdt-core";
import { describe, expect, test } from "vitest";
import { MemoryNetwork } from "../src/index.js";
import { record } from "./recorder.js";

describe("transport arguments", () => {
  test("invalid arguments reject with invalid_argument and nothing goes on the wire", async () => {
    const network = new MemoryNetwork({ seed: 61 });
    const a = network.client("a");
    const cycle: { self?: unknown } = {};
    cycle.self = cycle;
    const rejected = [
      a.publish("", 1),
      a.publish("has space", 1),
      a.publish("a,b", 1),
      a.publish("x".repeat(93), 1),
      a.publish("party.p-pnpres", 1),
      a.publish("party.p", undefined),
      a.publish("party.p", cycle),
      a.publish("party.p", 1n),
      a.publish("party.p", 1, { meta: cycle as Record<string, unknown> }),
      a.subscribe({}),
      a.history("party.p", { count: 0 }),
      a.history("party.p", { count: 101 }),
      a.history("party.p", { start: "01" }),
      a.history("party.p", { end: "abc" }),
      a.heartbeat({ channels: ["party.p"], intervalSeconds: 0 }),
      a.heartbeat({ channels: ["party.p"], intervalSeconds: 3601 }),
      a.setState({ channels: [], state: 1 }),
      a.hereNow({ channels: [] }),
      a.addChannelsToGroup("bad:group", ["party.p"]),
    ];
    for (const promise of rejected) {
      await expect(promise).rejects.toBeInstanceOf(TransportError);
      await expect(promise).rejects.toMatchObject({ code: "invalid_argument", retryable: false });
    }
    expect(network.inFlight()).toBe(0);
  });

  test("maxMessageBytes is an option; meta travels with the message", async () => {
    const network = new MemoryNetwork({ seed: 62, maxMessageBytes: 100 });
    const [a, b] = [network.client("a"), network.client("b")];
    expect(a.maxMessageBytes).toBe(100);
    const seen = record(b);
    await network.runUntilSettled(b.subscribe({ channels: ["party.p"] }));
    await expect(a.publish("party.p", "x".repeat(99))).rejects.toMatchObject({ code: "payload_too_large" });
    await network.runUntilSettled(a.publish("party.p", "x".repeat(98), { meta: { kind: "test" } }));
    await network.runUntilQuiet();
    expect(seen.messages).toHaveLength(1);
    expect(seen.messages[0]?.meta).toEqual({ kind: "test" });
  });

  test("every receiver gets its own copy of the payload", async () => {
    const network = new MemoryNetwork({ seed: 63 });
    const [a, b, c] = ["a", "b", "c"].map((id) => network.client(id));
    const payloads: unknown[] = [];
    for (const t of [b!, c!]) {
      t.addListener({ message: (message) => payloads.push(message.payload) });
      await network.runUntilSettled(t.subscribe({ channels: ["party.p"] }));
    }
    const sent = { list: [1, 2] };
    await network.runUntilSettled(a!.publish("party.p", sent));
    sent.list.push(3);
    await network.runUntilQuiet();
    expect(payloads).toEqual([{ list: [1, 2] }, { list: [1, 2] }]);
    expect(payloads[0]).not.toBe(payloads[1]);
  });
});
