import {
  type PlaybackState,
  type WatchProgressUpdateMessage,
  watchProgressMessage,
} from "@mg-sync/crdt-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProgressThrottle } from "../src/progress-throttle.js";
import { VirtualTime } from "./support/virtual-time.js";

function progress(
  contentId: string,
  position: number,
  state: PlaybackState,
  ts: number,
): WatchProgressUpdateMessage {
  return watchProgressMessage({
    content_id: contentId,
    progress_seconds: position,
    duration_seconds: 10_000,
    state,
    device_id: "tv",
    device_type: "TV",
    timestamp: ts,
  });
}

function setup(intervalMs = 10_000) {
  const time = new VirtualTime();
  const sent: Array<{ at: number; message: WatchProgressUpdateMessage }> = [];
  const throttle = new ProgressThrottle(
    intervalMs,
    time,
    () => time.now(),
    (message) => sent.push({ at: time.now(), message }),
  );
  return { time, sent, throttle };
}

describe("ProgressThrottle", () => {
  it("sends the first update at once and then the latest one per interval (trailing)", () => {
    const { time, sent, throttle } = setup();
    for (let s = 0; s < 25; s++) {
      throttle.submit(progress("tmdb:550", 100 + s, "Playing", s + 1));
      time.advance(1000);
    }
    time.advance(20_000);
    // Sent at 0 s, 10 s, 20 s and 30 s: each time the newest position submitted before then.
    expect(sent.map((x) => x.message.progress_seconds)).toEqual([100, 109, 119, 124]);
    expect(sent.map((x) => x.at - sent[0]!.at)).toEqual([0, 10_000, 20_000, 30_000]);
    // One message per title per 10 s: consecutive sends are at least 10 s apart.
    for (let i = 1; i < sent.length; i++)
      expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(10_000);
  });

  it("flushes at once on Paused and Stopped", () => {
    const { time, sent, throttle } = setup();
    throttle.submit(progress("a", 1, "Playing", 1));
    time.advance(2000);
    throttle.submit(progress("a", 3, "Playing", 2));
    time.advance(1000);
    throttle.submit(progress("a", 4, "Paused", 3));
    expect(sent.map((x) => [x.message.progress_seconds, x.message.state])).toEqual([
      [1, "Playing"],
      [4, "Paused"],
    ]);
    time.advance(30_000);
    expect(sent).toHaveLength(2); // the Playing at 3 s was superseded, never sent
    throttle.submit(progress("a", 4, "Stopped", 4));
    expect(sent.at(-1)!.message.state).toBe("Stopped");
  });

  it("throttles each title on its own", () => {
    const { time, sent, throttle } = setup();
    throttle.submit(progress("a", 1, "Playing", 1));
    throttle.submit(progress("b", 1, "Playing", 2));
    throttle.submit(progress("a", 2, "Playing", 3));
    expect(sent.map((x) => x.message.content_id)).toEqual(["a", "b"]);
    time.advance(10_000);
    expect(sent.map((x) => `${x.message.content_id}${x.message.progress_seconds}`)).toEqual([
      "a1",
      "b1",
      "a2",
    ]);
  });

  it("flushAll sends every pending message and pending() lists them before", () => {
    const { time, sent, throttle } = setup();
    throttle.submit(progress("a", 1, "Playing", 1));
    time.advance(100);
    throttle.submit(progress("a", 2, "Playing", 2));
    expect(throttle.pending().map((m) => m.progress_seconds)).toEqual([2]);
    throttle.flushAll();
    expect(throttle.pending()).toEqual([]);
    expect(sent.map((x) => x.message.progress_seconds)).toEqual([1, 2]);
    time.advance(60_000);
    expect(sent).toHaveLength(2);
  });

  it("property: the last update of a title is always sent, and sends are >= interval apart while playing", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 15_000 }), title: fc.constantFrom("a", "b") }), {
          minLength: 1,
          maxLength: 60,
        }),
        (steps) => {
          const { time, sent, throttle } = setup();
          const last = new Map<string, number>();
          steps.forEach((step, i) => {
            time.advance(step.gap);
            throttle.submit(progress(step.title, i, "Playing", i + 1));
            last.set(step.title, i);
          });
          time.advance(10_000);
          for (const [title, position] of last) {
            const mine = sent.filter((x) => x.message.content_id === title);
            expect(mine.at(-1)!.message.progress_seconds).toBe(position);
            for (let k = 1; k < mine.length; k++) {
              expect(mine[k]!.at - mine[k - 1]!.at).toBeGreaterThanOrEqual(10_000);
            }
          }
        },
      ),
    );
  });
});
