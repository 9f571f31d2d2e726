/**
 * Faults at the server while three devices keep working (issue 6 §4, issue 7 §3): the server
 * restarts mid-stream, its connections drop, it answers errors. Written once against a real-time
 * household and run over the WebSocket hub and the PubNub emulator. What is checked is what a user
 * would notice: every change any device made is on every device, the three states are equal, and
 * no client gave up on anything it had queued.
 *
 * The load: 40 rounds, 25 ms apart; each round the phone adds a title, the TV reports its
 * position in Fight Club, and the web client adds a title and sets a preference. The fault
 * strikes in the middle, while rounds keep coming.
 */
import type { SyncClient } from "@mg-sync/sync-client";
import { afterEach, describe, expect, it } from "vitest";
import { type DeviceName, FIGHT_CLUB, FIGHT_CLUB_DURATION_SEC } from "./devices.js";
import type { Household } from "./household.js";
import type { ServerFaults } from "./real-time-household.js";
import { expectConverged } from "./spec-scenarios.js";

const ALL: readonly DeviceName[] = ["phone", "tv", "web"];
const ROUNDS = 40;
const ROUND_MS = 25;

export type FaultyHousehold = Household & { readonly faults: ServerFaults };

interface Burst {
  readonly titles: readonly string[];
  readonly lastPositionSec: number;
  readonly lastVolume: number;
}

/** Runs the rounds; `strike(round)` is called before each and may start a fault. */
async function burst(h: Household, strike: (round: number) => void): Promise<Burst> {
  const phone = h.client("phone");
  const tv = h.client("tv");
  const web = h.client("web");
  const titles: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    strike(round);
    const fromPhone = `tmdb:${70_000 + round}`;
    const fromWeb = `tmdb:${80_000 + round}`;
    phone.watchlist.add(fromPhone);
    tv.progress.update(FIGHT_CLUB, 60 + round * 10, FIGHT_CLUB_DURATION_SEC, "Playing");
    web.watchlist.add(fromWeb);
    web.preferences.set("playback.volume", round);
    titles.push(fromPhone, fromWeb);
    await h.wait(ROUND_MS);
  }
  return { titles, lastPositionSec: 60 + (ROUNDS - 1) * 10, lastVolume: ROUNDS - 1 };
}

/** Every device shows every change of the burst, the states are equal, nothing was given up. */
async function expectEverythingEverywhere(h: Household, expected: Burst): Promise<void> {
  const has = (client: SyncClient): boolean =>
    expected.titles.every((t) => client.watchlist.has(t)) &&
    client.progress.get(FIGHT_CLUB)?.progress_seconds === expected.lastPositionSec &&
    client.preferences.get("playback.volume") === expected.lastVolume;
  await h.until("every change is on every device", () => ALL.every((n) => has(h.client(n))), 20_000);
  await h.settle();
  expectConverged(h, ALL);
  for (const name of ALL) {
    expect(h.client(name).stats().outbox.dropped, `${name} gave up on a queued delta`).toBe(0);
  }
}

/** How often the device's transport reported losing and regaining its server. */
function outages(h: Household, name: DeviceName): { lost: number; back: number } {
  const statuses = h.transport(name).statuses;
  return {
    lost: statuses.filter((s) => s.type === "disconnected").length,
    back: statuses.filter((s) => s.type === "reconnected").length,
  };
}

/** The server goes down for 500 ms mid-burst and comes back on the same port. */
async function serverRestartMidBurst(h: FaultyHousehold): Promise<void> {
  await h.start(...ALL);
  let restarting: Promise<void> | undefined;
  const expected = await burst(h, (round) => {
    if (round === ROUNDS / 2) restarting = h.faults.restart(500);
  });
  await h.run(restarting ?? Promise.resolve());
  await expectEverythingEverywhere(h, expected);
  for (const name of ALL) {
    const { lost, back } = outages(h, name);
    expect(lost, `${name} noticed the restart`).toBeGreaterThanOrEqual(1);
    expect(back, `${name} came back`).toBeGreaterThanOrEqual(1);
  }
}

/** Every device's connections are torn down three times mid-burst (it reconnects at once). */
async function socketsDroppedMidBurst(h: FaultyHousehold): Promise<void> {
  await h.start(...ALL);
  const expected = await burst(h, (round) => {
    if (round % 10 !== 5) return;
    for (const name of ALL) {
      h.cut(name);
      h.restore(name);
    }
  });
  await expectEverythingEverywhere(h, expected);
  for (const name of ALL) {
    expect(outages(h, name).back, `${name} reconnected after its sockets dropped`).toBeGreaterThanOrEqual(1);
  }
}

/** The server answers 500s, then 429s with Retry-After, to every device's requests mid-burst. */
async function errorAnswersMidBurst(h: FaultyHousehold): Promise<void> {
  const fail = h.faults.failRequests;
  if (fail === undefined) throw new Error(`${h.name} cannot answer with errors`);
  await h.start(...ALL);
  let hits500 = (): number => 0;
  let hits429 = (): number => 0;
  const expected = await burst(h, (round) => {
    if (round === 10) hits500 = fail(30, 500);
    if (round === 25) hits429 = fail(10, 429);
  });
  await expectEverythingEverywhere(h, expected);
  expect([hits500(), hits429()], "every error answer was given").toEqual([30, 10]);
}

/**
 * Registers the fault scenarios for one kind of real-time household; the error-answer one only
 * where the server speaks HTTP (`faults.failRequests`).
 */
export function describeFaultScenarios(
  label: string,
  make: () => Promise<FaultyHousehold>,
  options: { readonly errorAnswers: boolean },
): void {
  describe(`server faults over ${label}: every device converges, nothing is lost`, () => {
    let current: FaultyHousehold | undefined;
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });
    const scenarios: Array<readonly [string, (h: FaultyHousehold) => Promise<void>]> = [
      ["the server restarts mid-burst", serverRestartMidBurst],
      ["every device's sockets drop three times mid-burst", socketsDroppedMidBurst],
    ];
    if (options.errorAnswers)
      scenarios.push(["the server answers 500s, then 429s, mid-burst", errorAnswersMidBurst]);
    for (const [name, scenario] of scenarios) {
      it(name, async () => {
        current = await make();
        await scenario(current);
      });
    }
  });
}
