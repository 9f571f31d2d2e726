/**
 * Virtual time: the scheduler and per-client clocks (with skew), and the three ways to drive the
 * network (`runFor`, `runUntilQuiet`, `runUntilSettled`) and where each stops.
 */
import { timetokenToMs } from "@mg-sync/crdt-core";
import { describe, expect, test } from "vitest";
import { DEFAULT_START_TIME_MS, MemoryNetwork } from "../src/index.js";
import { record, track } from "./recorder.js";

describe("virtual time", () => {
  test("timers fire in time order, ties in scheduling order; cancel stops one; runFor lands exactly", async () => {
    const network = new MemoryNetwork({ seed: 51 });
    expect(network.now()).toBe(DEFAULT_START_TIME_MS);
    const fired: string[] = [];
    network.scheduler.schedule(300, () => fired.push(`c@${network.now() - DEFAULT_START_TIME_MS}`));
    network.scheduler.schedule(100, () => fired.push(`a@${network.now() - DEFAULT_START_TIME_MS}`));
    network.scheduler.schedule(100, () => fired.push(`b@${network.now() - DEFAULT_START_TIME_MS}`));
    const cancel = network.scheduler.schedule(200, () => fired.push("cancelled"));
    cancel();
    await network.runFor(250);
    expect(fired).toEqual(["a@100", "b@100"]);
    expect(network.now()).toBe(DEFAULT_START_TIME_MS + 250);
    await network.advance(50);
    expect(fired).toEqual(["a@100", "b@100", "c@300"]);
    expect(() => network.scheduler.schedule(-1, () => {})).toThrow(RangeError);
  });

  test("each client's clock carries its own skew; the server's timetokens do not", async () => {
    const network = new MemoryNetwork({ seed: 52, latency: { minMs: 0, maxMs: 0 } });
    const tvClock = network.clock("tv");
    const phoneClock = network.clock("phone");
    network.setSkew("tv", 30_000);
    network.setSkew("phone", -12_500);
    expect(tvClock.now()).toBe(network.now() + 30_000);
    expect(phoneClock.now()).toBe(network.now() - 12_500);
    await network.runFor(1_000);
    expect(tvClock.now() - phoneClock.now()).toBe(42_500);
    expect(network.clock("web").now()).toBe(network.now());

    const tv = network.client("tv");
    const { timetoken } = await network.runUntilSettled(tv.publish("party.p", { at: tvClock.now() }));
    expect(timetokenToMs(timetoken)).toBe(network.now());
  });

  test("runUntilQuiet does not wait for timers: a heartbeat loop does not keep it running", async () => {
    const network = new MemoryNetwork({ seed: 53 });
    const [tv, web] = [network.client("tv"), network.client("web")];
    const heard = record(web);
    await network.runUntilSettled(web.subscribe({ channels: ["user.alice.devices"] }));
    let beats = 0;
    const beat = (): void => {
      beats++;
      void tv.publish("user.alice.devices", { beat: beats }, { storeInHistory: false });
      network.scheduler.schedule(30_000, beat);
    };
    beat();
    const start = network.now();
    await network.runUntilQuiet();
    expect(network.now() - start).toBeLessThan(1_000);
    expect(beats).toBe(1);
    expect(heard.messages).toHaveLength(1);
    await network.runFor(95_000);
    expect(beats).toBe(4);
    await network.runUntilQuiet();
    expect(heard.messages).toHaveLength(4);
  });

  test("code awaiting a call resumes inside the run, at the virtual instant of the answer", async () => {
    const network = new MemoryNetwork({ seed: 54, latency: { minMs: 25, maxMs: 25 } });
    const a = network.client("a");
    const times: number[] = [];
    const chain = (async () => {
      for (let i = 0; i < 3; i++) {
        await a.publish("party.p", { i });
        times.push(network.now() - DEFAULT_START_TIME_MS);
      }
    })();
    await network.runUntilQuiet();
    await chain;
    expect(times).toEqual([50, 100, 150]);
  });

  test("runUntilQuiet gives up with an error when the network stays busy past maxMs", async () => {
    const network = new MemoryNetwork({ seed: 55, lossRate: 0.999 });
    const a = network.client("a");
    const publish = track(a.publish("party.p", { i: 1 }));
    await expect(network.runUntilQuiet({ maxMs: 10_000 })).rejects.toThrow(/still busy after 10000 ms/);
    expect(publish.settled()).toBe(false);
    await a.close();
    await expect(publish.promise).rejects.toMatchObject({ code: "closed" });
  });

  test("a listener that throws fails the run that drove it", async () => {
    const network = new MemoryNetwork({ seed: 56 });
    const [a, b] = [network.client("a"), network.client("b")];
    b.addListener({
      message: () => {
        throw new Error("listener bug");
      },
    });
    await network.runUntilSettled(b.subscribe({ channels: ["party.p"] }));
    const published = track(a.publish("party.p", 1));
    await expect(network.runUntilQuiet()).rejects.toThrow("listener bug");
    // The network itself is intact: the next run carries on where that one stopped.
    await network.runUntilQuiet();
    expect(published.settled()).toBe(true);
  });

  test("one run at a time", async () => {
    const network = new MemoryNetwork({ seed: 57 });
    const first = network.runFor(10);
    await expect(network.runFor(10)).rejects.toThrow(/already in progress/);
    await first;
  });

  test("removing a listener stops it; randomFor is one continuing stream per client", async () => {
    const network = new MemoryNetwork({ seed: 58 });
    const [a, b] = [network.client("a"), network.client("b")];
    let heard = 0;
    const remove = b.addListener({ message: () => heard++ });
    await network.runUntilSettled(b.subscribe({ channels: ["party.p"] }));
    await network.runUntilSettled(a.publish("party.p", 1));
    await network.runUntilQuiet();
    remove();
    await network.runUntilSettled(a.publish("party.p", 2));
    await network.runUntilQuiet();
    expect(heard).toBe(1);

    const first = network.randomFor("tv");
    expect(network.randomFor("tv")).toBe(first);
    const replay = new MemoryNetwork({ seed: 58 }).randomFor("tv");
    const drawn = [first(), first()];
    expect([replay(), replay()]).toEqual(drawn);
    expect(new MemoryNetwork({ seed: 58 }).randomFor("phone")()).not.toBe(drawn[0]);
  });

  test("options are checked", () => {
    expect(() => new MemoryNetwork({ seed: 0.5 })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1, startTimeMs: 0 })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1, lossRate: 1 })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1, duplicateRate: -0.1 })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1, latency: { minMs: 1.5, maxMs: 3 } })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1, maxMessageBytes: 0 })).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1 }).client("")).toThrow(RangeError);
    expect(() => new MemoryNetwork({ seed: 1 }).setSkew("a", Number.NaN)).toThrow(RangeError);
  });

  test("per-link latency: each client and direction can have its own range", async () => {
    const network = new MemoryNetwork({
      seed: 59,
      latency: (clientId, direction) =>
        clientId === "satellite"
          ? { minMs: 300, maxMs: 300 }
          : { minMs: direction === "up" ? 10 : 20, maxMs: direction === "up" ? 10 : 20 },
    });
    const [fast, slow] = [network.client("fast"), network.client("satellite")];
    const start = network.now();
    await network.runUntilSettled(fast.publish("party.p", 1));
    expect(network.now() - start).toBe(30);
    await network.runUntilSettled(slow.publish("party.p", 1));
    expect(network.now() - start).toBe(630);
  });
});
