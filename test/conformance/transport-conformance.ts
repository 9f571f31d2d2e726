/**
 * The transport conformance suite: the guarantees of crdt-core `transport.ts`, checked against any
 * implementation (after automerge-repo's `runNetworkAdapterTests`). Every adapter runs it on
 * itself, so a client that works over one transport works over all:
 *
 *   runTransportConformance("memory", async () => { const network = …; return { makeClient, settle, cleanup }; });
 *
 * It registers vitest `describe`/`test` blocks and knows nothing about time: the harness says how
 * to wait (virtual `runUntilQuiet` for the memory network, polling with a timeout for sockets).
 * Duplicates are always allowed (at least once), so every check reads messages de-duplicated by
 * (channel, timetoken), first arrival kept.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
// Types only, by path: `test/` is outside the packages and does not depend on crdt-core's build.
import type {
  Timetoken,
  Transport,
  TransportMessage,
  TransportPresenceEvent,
  TransportStatus,
} from "../../packages/crdt-core/src/transport.js";

export interface ConformanceHarness {
  /** A fresh transport for client `id` (its `publisher` and presence `uuid`). */
  makeClient(id: string): Promise<Transport>;
  /** Waits until in-flight work is delivered (virtual: run until quiet; real: poll with a timeout). */
  settle(): Promise<void>;
  /**
   * Waits for one call's promise (default: `settle()`, then the promise). Real transports should
   * pass `(p) => p`, so a burst of sequential publishes does not wait for quiet after each.
   */
  until?<T>(promise: Promise<T>): Promise<T>;
  /** Closes everything `makeClient` opened. */
  cleanup(): Promise<void>;
  /**
   * Goes into every channel and group name, so runs against a shared service never read each
   * other's history: printable ASCII, no `.` `,` `:` `*` `/` `\`, at most 32 characters.
   * Default "conf".
   */
  readonly namespace?: string;
}

interface Inbox {
  readonly messages: TransportMessage[];
  readonly presence: TransportPresenceEvent[];
  readonly statuses: TransportStatus[];
}

function inbox(transport: Transport): Inbox {
  const box: Inbox = { messages: [], presence: [], statuses: [] };
  transport.addListener({
    message: (message) => box.messages.push(message),
    presence: (event) => box.presence.push(event),
    status: (status) => box.statuses.push(status),
  });
  return box;
}

/** Messages de-duplicated by (channel, timetoken), in order of first arrival. */
function firstSeen(messages: readonly TransportMessage[], channel?: string): TransportMessage[] {
  const seen = new Set<string>();
  const out: TransportMessage[] = [];
  for (const message of messages) {
    if (channel !== undefined && message.channel !== channel) continue;
    const key = `${message.channel}\n${message.timetoken}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(message);
  }
  return out;
}

/** Numeric order of two timetokens, computed independently of the implementation under test. */
function compareTimetokens(a: Timetoken, b: Timetoken): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function expectStrictlyIncreasing(timetokens: readonly Timetoken[]): void {
  for (let i = 1; i < timetokens.length; i++) {
    if (compareTimetokens(timetokens[i - 1]!, timetokens[i]!) >= 0)
      expect.fail(`timetoken ${timetokens[i]} at ${i} is not greater than ${timetokens[i - 1]} before it`);
  }
}

const TIMETOKEN = /^(0|[1-9][0-9]{0,19})$/;

function seqOf(message: TransportMessage): number {
  return (message.payload as { seq: number }).seq;
}

export function runTransportConformance(name: string, setup: () => Promise<ConformanceHarness>): void {
  describe(`Transport conformance: ${name}`, () => {
    let harness: ConformanceHarness;
    let namespace: string;

    beforeEach(async () => {
      harness = await setup();
      namespace = harness.namespace ?? "conf";
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    /** A channel of this test: `party.{namespace}-{key}` (spec 4.3; retention 100 messages / 24 h). */
    const channel = (key: string): string => `party.${namespace}-${key}`;
    const group = (key: string): string => `${namespace}-${key}`;

    const until = <T>(promise: Promise<T>): Promise<T> => {
      if (harness.until !== undefined) return harness.until(promise);
      // Handled at once, so a rejection that comes before `settle` ends is not reported unhandled.
      promise.catch(() => {});
      return harness.settle().then(() => promise);
    };

    const clients = (...ids: string[]): Promise<Transport[]> =>
      Promise.all(ids.map((id) => harness.makeClient(id)));

    test("a published message reaches every subscriber, with channel, subscription, publisher and timetoken", async () => {
      const [a, b, c] = await clients("a", "b", "c");
      const ch = channel("fanout");
      const boxes = [inbox(b!), inbox(c!)];
      await until(b!.subscribe({ channels: [ch] }));
      await until(c!.subscribe({ channels: [ch] }));
      const { timetoken } = await until(a!.publish(ch, { hello: "world", list: [1, "two", null] }));
      expect(timetoken).toMatch(TIMETOKEN);
      await harness.settle();
      for (const box of boxes) {
        const got = firstSeen(box.messages);
        expect(got).toHaveLength(1);
        expect(got[0]).toMatchObject({
          channel: ch,
          subscription: ch,
          publisher: "a",
          timetoken,
          payload: { hello: "world", list: [1, "two", null] },
        });
      }
    });

    test("the first subscribe emits connected before it resolves", async () => {
      const [a] = await clients("a");
      const ch = channel("connected");
      const box = inbox(a!);
      let statusesWhenResolved: TransportStatus[] = [];
      await until(
        a!.subscribe({ channels: [ch] }).then(() => {
          statusesWhenResolved = [...box.statuses];
        }),
      );
      const connected = statusesWhenResolved.find((status) => status.type === "connected");
      expect(connected).toBeDefined();
      if (connected?.type === "connected") expect(connected.channels).toContain(ch);
    });

    test("FIFO per publisher per channel across a burst of 200, with another publisher interleaved", async () => {
      const [a, b, c] = await clients("a", "b", "c");
      const ch = channel("fifo");
      const box = inbox(b!);
      await until(b!.subscribe({ channels: [ch] }));
      const burst = async (publisher: Transport, count: number): Promise<void> => {
        for (let seq = 0; seq < count; seq++) await publisher.publish(ch, { seq });
      };
      await until(Promise.all([burst(a!, 200), burst(c!, 50)]));
      await harness.settle();
      const got = firstSeen(box.messages, ch);
      const fromA = got.filter((message) => message.publisher === "a").map(seqOf);
      const fromC = got.filter((message) => message.publisher === "c").map(seqOf);
      expect(fromA).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(fromC).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    test("timetokens are unique and strictly increase on a channel, in publish results and in history", async () => {
      const [a, b, c] = await clients("a", "b", "c");
      const ch = channel("timetokens");
      const sequential: Timetoken[] = [];
      for (let seq = 0; seq < 20; seq++) sequential.push((await until(a!.publish(ch, { seq }))).timetoken);
      expectStrictlyIncreasing(sequential);
      const concurrent = await until(
        Promise.all(
          [b!, c!].flatMap((publisher) =>
            Array.from({ length: 10 }, (_, seq) =>
              publisher.publish(ch, { seq }).then((ack) => ack.timetoken),
            ),
          ),
        ),
      );
      const all = [...sequential, ...concurrent];
      for (const timetoken of all) expect(timetoken).toMatch(TIMETOKEN);
      expect(new Set(all).size).toBe(all.length);
      const history = await until(a!.history(ch));
      const stored = history.messages.map((message) => message.timetoken);
      expectStrictlyIncreasing(stored);
      expect(stored).toEqual([...all].sort(compareTimetokens));
    });

    test("history: oldest first, start exclusive, end inclusive, the newest count between", async () => {
      const [a] = await clients("a");
      const ch = channel("history");
      expect((await until(a!.history(ch))).messages).toEqual([]);
      const t: Timetoken[] = [];
      for (let seq = 0; seq < 10; seq++) t.push((await until(a!.publish(ch, { seq }))).timetoken);
      await until(a!.publish(ch, { seq: -1 }, { storeInHistory: false }));
      const read = async (options: {
        start?: Timetoken;
        end?: Timetoken;
        count?: number;
      }): Promise<number[]> => (await until(a!.history(ch, options))).messages.map(seqOf);

      const all = (await until(a!.history(ch))).messages;
      expect(all.map((message) => message.timetoken)).toEqual(t);
      expect(all[0]).toMatchObject({ channel: ch, publisher: "a", payload: { seq: 0 } });
      expect(await read({ count: 3 })).toEqual([7, 8, 9]);
      expect(await read({ end: t[6]! })).toEqual([6, 7, 8, 9]);
      expect(await read({ end: t[6]!, count: 2 })).toEqual([8, 9]);
      expect(await read({ start: t[5]! })).toEqual([0, 1, 2, 3, 4]);
      expect(await read({ start: t[5]!, count: 2 })).toEqual([3, 4]);
      expect(await read({ start: t[8]!, end: t[2]! })).toEqual([2, 3, 4, 5, 6, 7]);
      expect(await read({ start: t[8]!, end: t[2]!, count: 3 })).toEqual([5, 6, 7]);
      expect(await read({ start: t[0]! })).toEqual([]);
    });

    test("a payload over maxMessageBytes (UTF-8 bytes of its JSON) rejects with payload_too_large and is not sent", async () => {
      const [a, b] = await clients("a", "b");
      const ch = channel("limit");
      const box = inbox(b!);
      await until(b!.subscribe({ channels: [ch] }));
      const max = a!.maxMessageBytes;
      expect(Number.isSafeInteger(max) && max > 2).toBe(true);
      // Two bytes per character: under the limit in UTF-16 units, over it in UTF-8 bytes.
      const tooLarge = "é".repeat(Math.ceil(max / 2));
      await expect(until(a!.publish(ch, tooLarge))).rejects.toMatchObject({
        name: "TransportError",
        code: "payload_too_large",
        operation: "publish",
      });
      const exactlyMax = "x".repeat(max - 2);
      const { timetoken } = await until(a!.publish(ch, exactlyMax));
      await harness.settle();
      expect(firstSeen(box.messages).map((message) => message.timetoken)).toEqual([timetoken]);
    });

    test("at least once: every subscriber gets every acknowledged message", async () => {
      const [a, b, c, d] = await clients("a", "b", "c", "d");
      const ch = channel("at-least-once");
      const boxes = [inbox(c!), inbox(d!)];
      await until(c!.subscribe({ channels: [ch] }));
      await until(d!.subscribe({ channels: [ch] }));
      const acknowledged: Timetoken[] = [];
      const burst = async (publisher: Transport): Promise<void> => {
        for (let seq = 0; seq < 30; seq++)
          acknowledged.push((await publisher.publish(ch, { seq })).timetoken);
      };
      await until(Promise.all([burst(a!), burst(b!)]));
      await harness.settle();
      for (const box of boxes) {
        const received = new Set(box.messages.map((message) => message.timetoken));
        for (const timetoken of acknowledged) expect(received.has(timetoken)).toBe(true);
      }
    });

    test("channel groups: add, list, remove, delete; delivery names the group as subscription", async () => {
      const [a, b] = await clients("a", "b");
      const g = group("grp");
      const [ch1, ch2, ch3] = [channel("g1"), channel("g2"), channel("g3")];
      const box = inbox(b!);
      await until(a!.addChannelsToGroup(g, [ch1, ch2]));
      expect([...(await until(a!.listChannelsInGroup(g)))].sort()).toEqual([ch1, ch2].sort());
      await until(b!.subscribe({ channelGroups: [g] }));
      const t1 = (await until(a!.publish(ch1, { seq: 1 }))).timetoken;
      const t2 = (await until(a!.publish(ch2, { seq: 2 }))).timetoken;
      await until(a!.publish(ch3, { seq: 3 }));
      await harness.settle();
      const got = firstSeen(box.messages);
      expect(got.map((message) => [message.channel, message.timetoken, message.subscription])).toEqual([
        [ch1, t1, g],
        [ch2, t2, g],
      ]);

      await until(a!.removeChannelsFromGroup(g, [ch2]));
      expect(await until(a!.listChannelsInGroup(g))).toEqual([ch1]);
      await until(a!.publish(ch2, { seq: 4 }));
      const t5 = (await until(a!.publish(ch1, { seq: 5 }))).timetoken;
      await harness.settle();
      expect(firstSeen(box.messages).map((message) => message.timetoken)).toEqual([t1, t2, t5]);

      await until(a!.deleteChannelGroup(g));
      expect(await until(a!.listChannelsInGroup(g))).toEqual([]);
    });

    test("presence: join, state-change and leave events, and hereNow", async () => {
      const [a, b] = await clients("a", "b");
      const ch = channel("presence");
      const box = inbox(a!);
      await until(a!.subscribe({ channels: [ch], withPresence: true }));
      await until(b!.subscribe({ channels: [ch], withPresence: true }));
      await harness.settle();
      const joinOfB = box.presence.find((event) => event.action === "join" && event.uuid === "b");
      expect(joinOfB).toMatchObject({ channel: ch, occupancy: 2 });
      expect(joinOfB?.timetoken).toMatch(TIMETOKEN);

      const here = await until(a!.hereNow({ channels: [ch] }));
      expect(here.channels[ch]?.occupancy).toBe(2);
      expect(here.channels[ch]?.occupants.map((occupant) => occupant.uuid).sort()).toEqual(["a", "b"]);

      await until(b!.setState({ channels: [ch], state: { activity: "Watching" } }));
      await harness.settle();
      expect(
        box.presence.find((event) => event.action === "state-change" && event.uuid === "b"),
      ).toMatchObject({ channel: ch, state: { activity: "Watching" } });
      const withState = await until(a!.hereNow({ channels: [ch], includeState: true }));
      expect(withState.channels[ch]?.occupants.find((occupant) => occupant.uuid === "b")?.state).toEqual({
        activity: "Watching",
      });

      await until(b!.unsubscribe({ channels: [ch] }));
      await harness.settle();
      expect(box.presence.find((event) => event.action === "leave" && event.uuid === "b")).toMatchObject({
        channel: ch,
        occupancy: 1,
      });
      const after = await until(a!.hereNow({ channels: [ch] }));
      expect(after.channels[ch]?.occupants.map((occupant) => occupant.uuid)).toEqual(["a"]);
    });

    test("unsubscribe stops delivery", async () => {
      const [a, b] = await clients("a", "b");
      const ch = channel("unsubscribe");
      const box = inbox(b!);
      await until(b!.subscribe({ channels: [ch] }));
      const first = (await until(a!.publish(ch, { seq: 1 }))).timetoken;
      await harness.settle();
      await until(b!.unsubscribe({ channels: [ch] }));
      await until(a!.publish(ch, { seq: 2 }));
      await harness.settle();
      expect(firstSeen(box.messages).map((message) => message.timetoken)).toEqual([first]);
    });

    test("close is idempotent, leaves presence, and later calls reject with closed", async () => {
      const [a, b] = await clients("a", "b");
      const ch = channel("close");
      const observer = inbox(a!);
      const box = inbox(b!);
      await until(a!.subscribe({ channels: [ch], withPresence: true }));
      await until(b!.subscribe({ channels: [ch], withPresence: true }));
      await harness.settle();
      await until(b!.close());
      await until(b!.close());
      await expect(until(b!.publish(ch, { seq: 1 }))).rejects.toMatchObject({
        name: "TransportError",
        code: "closed",
      });
      const heard = box.messages.length;
      await until(a!.publish(ch, { seq: 2 }));
      await harness.settle();
      expect(box.messages.length).toBe(heard);
      expect(observer.presence.some((event) => event.action === "leave" && event.uuid === "b")).toBe(true);
    });
  });
}
