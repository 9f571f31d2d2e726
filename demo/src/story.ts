/**
 * The story: the spec's scenarios played by a phone, a TV and a web client of one user, in
 * order, with faults injected on the way. Every step is real client API over a real transport;
 * the timeline only watches.
 *
 *   6.1  the devices join
 *   5.1  watchlist sync
 *   7.2  Fight Club: added on the TV, removed on the phone, added again on the web (partitioned)
 *   5.2  TV → phone handoff through synced progress
 *   6.3  remote commands: one run, one refused by the sender, one expired behind a partition
 *   7.3  a 45 s slow clock loses nothing: the HLC orders a later write after what it has seen
 *   8.2  the phone goes to the background; the web loses its network
 *   6.4  twenty minutes offline, longer than history: the web reconciles
 */
import {
  hlcWallMs,
  type LwwStamp,
  type RemoteCommand,
  type RemoteCommandMessage,
  userSyncChannel,
} from "@mg-sync/crdt-core";
import { CommandRejectedError } from "@mg-sync/sync-client";
import { ARRIVAL, FIGHT_CLUB, PARASITE, SE7EN, THE_MATRIX, type Title, titleName } from "./catalog.js";
import type { Driver } from "./drivers/driver.js";
import { position, runTime } from "./format-time.js";
import {
  createDevice,
  type Device,
  type DeviceSpec,
  newWiring,
  PHONE_KIND,
  startAll,
  TV_KIND,
  WEB_KIND,
} from "./household.js";
import { Timeline, type Watch } from "./timeline.js";
import {
  liveDots,
  others,
  ownDot,
  preferenceStamp,
  progressStamp,
  seesAdd,
  seesPreference,
  seesPresence,
  seesProgress,
  seesRemove,
  viewOf,
} from "./watches.js";

/** The web client's wall clock runs this far behind (a fault the HLC absorbs, spec 7.3). */
export const WEB_CLOCK_SKEW_MS = -45_000;

export const STORY_DEVICES: readonly DeviceSpec[] = [
  {
    label: "phone",
    deviceId: "phone-iphone",
    kind: PHONE_KIND,
    description: "iPhone (iOS); not remote-controllable",
    skewMs: 0,
  },
  {
    label: "tv",
    deviceId: "tv-samsung-living-room",
    kind: TV_KIND,
    description: 'Samsung TV (Tizen), 65"; remote-controllable',
    skewMs: 0,
  },
  {
    label: "web",
    deviceId: "web-chrome",
    kind: WEB_KIND,
    description: `Chrome on a laptop; its clock runs ${Math.abs(WEB_CLOCK_SKEW_MS) / 1000} s slow (fault)`,
    skewMs: WEB_CLOCK_SKEW_MS,
  },
];

const NETWORK = "network";
/** Position reports the TV makes, offline web, before it adds Se7en. */
const EARLY_REPORTS = 4;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Plays the story; returns the devices, still running, for the final state and the check. */
export async function playStory(
  driver: Driver,
  write: (line: string) => void,
  quiet: boolean,
): Promise<Device[]> {
  const { timing } = driver;
  const timeline = new Timeline(driver, write, quiet);
  const syncChannel = userSyncChannel(driver.userId);
  const byId = new Map<string, Device>();
  const labelOf = (deviceId: string) => byId.get(deviceId)?.label ?? deviceId;
  const syncPublishes = new Map<string, number>();
  const answers = new Map<string, { entry: { text: string }; chunks: number; requester: string }>();

  // What devices send that no action of the story asked for: reconciliation.
  const wiring = newWiring((deviceId, channel, payload) => {
    if (channel === syncChannel) syncPublishes.set(deviceId, (syncPublishes.get(deviceId) ?? 0) + 1);
    if (!isRecord(payload)) return;
    const device = byId.get(deviceId);
    if (device === undefined) return;
    if (payload.msg_type === "state_reconciliation_request") {
      timeline.event(device, "asks the other devices for the whole state (state_reconciliation_request)");
    } else if (payload.msg_type === "state_reconciliation_response") {
      const requestId = String(payload.request_id ?? "");
      const requester = labelOf(requestId.split(/[~:]/)[0] ?? "");
      const key = `${deviceId} ${requestId}`;
      const known = answers.get(key);
      const answer = known ?? {
        entry: timeline.event(device, ""),
        chunks: 0,
        requester,
      };
      answer.chunks++;
      answers.set(key, answer);
      answer.entry.text =
        requester === device.label
          ? `publishes its own state too: the answers lacked something it holds (${answer.chunks} chunk${answer.chunks === 1 ? "" : "s"})`
          : `answers ${requester}: its whole state in ${answer.chunks} chunk${answer.chunks === 1 ? "" : "s"} under the message limit`;
    }
  });

  const devices = STORY_DEVICES.map((spec) => createDevice(driver, spec, wiring));
  const [phone, tv, web] = devices as [Device, Device, Device];
  for (const device of devices) {
    byId.set(device.deviceId, device);
    timeline.attach(device);
    device.client.on("status", (status) => {
      if (status.type === "disconnected") timeline.event(device, "loses the server: transport disconnected");
      else if (status.type === "reconnected")
        timeline.event(
          device,
          status.gap
            ? "is back: transport reconnected, but history no longer reaches back to what it last saw (gap)"
            : "is back: transport reconnected and replayed what it missed from history",
        );
      else if (status.type === "access-denied")
        timeline.event(device, `access denied (${status.operation}): ${status.message}`);
    });
  }

  // The TV obeys remote commands: it records them, and acts on LoadContent.
  const tvRan: RemoteCommandMessage[] = [];
  const tvRefused: string[] = [];
  tv.client.onCommand((command, message) => {
    tvRan.push(message);
    if (command.type === "LoadContent" && command.params.content_id === FIGHT_CLUB.id) {
      playAt(tv, FIGHT_CLUB, command.params.start_position ?? 0, "Playing", "plays Fight Club from");
    }
  });
  tv.client.on("commandRejected", (reason) => tvRefused.push(reason));

  const step = () => timeline.settle(timing.stepTimeoutMs);
  const beat = () => driver.wait(timing.beatMs);

  function add(device: Device, title: Title, suffix = ""): void {
    device.client.watchlist.add(title.id, title.snippet);
    const dot = ownDot(device.client, title.id);
    timeline.act(
      device,
      `adds ${titleName(title.id)} to the watchlist${suffix}`,
      others(devices, device, (observer) => seesAdd(observer, dot)),
    );
  }

  function playAt(
    device: Device,
    title: Title,
    positionSec: number,
    state: "Playing" | "Paused",
    verb: string,
  ): void {
    device.client.progress.update(title.id, positionSec, title.durationSec, state);
    const stamp = progressStamp(device.client, title.id);
    timeline.act(
      device,
      `${verb} ${position(positionSec)}`,
      others(devices, device, (observer) => seesProgress(observer, title.id, stamp)),
    );
  }

  /** A player reporting its position every `playerTickMs` (published throttled, spec 5.2). */
  async function keepPlaying(
    device: Device,
    title: Title,
    fromSec: number,
    reports: number,
  ): Promise<number> {
    let at = fromSec;
    for (let i = 0; i < reports; i++) {
      await driver.wait(timing.playerTickMs);
      at += timing.playerTickSec;
      device.client.progress.update(title.id, at, title.durationSec, "Playing");
    }
    return at;
  }

  function setPreference(device: Device, key: string, value: unknown): LwwStamp {
    device.client.preferences.set(key, value);
    const stamp = preferenceStamp(device.client, key);
    timeline.act(
      device,
      `sets ${key} = ${JSON.stringify(value)}`,
      others(devices, device, (observer) => seesPreference(observer, key, stamp)),
    );
    return stamp;
  }

  async function command(from: Device, to: Device, cmd: RemoteCommand, text: string, ttlMs?: number) {
    const ran = tvRan.length;
    const refused = tvRefused.length;
    const watch: Watch = {
      observer: to,
      saw: () => (tvRan.length > ran ? "runs it" : `refuses it (${tvRefused[refused] ?? "?"})`),
      check: () => tvRan.length > ran || tvRefused.length > refused,
    };
    timeline.act(from, `sends ${text} to ${to.label}`, [watch]);
    await driver.drive(from.client.sendCommand(to.deviceId, cmd, ttlMs === undefined ? {} : { ttlMs }));
  }

  const everyone = (holds: (device: Device) => boolean) =>
    devices.map((device) => `${device.label} ${holds(device) ? "✓" : "✗"}`).join("  ");

  // -------------------------------------------------------------------------------------------
  await timeline.section(
    "6.1  Three devices join: subscribe to user.alice.*, publish device_join, catch up",
    async () => {
      const started: Device[] = [];
      for (const device of [tv, phone, web]) {
        timeline.act(
          device,
          "starts",
          started.map((observer) =>
            seesPresence(observer, device.deviceId, "sees it online", (view) => view.online),
          ),
        );
        await startAll(driver, [device]);
        started.push(device);
        await step();
        await beat();
      }
      // Let the start-up requests run out their answer window before anything else happens.
      await driver.settle(devices.map((d) => d.client));
      timeline.note(
        "A fresh install has no snapshot, so each device asks for the whole state (initial_sync_required);\nno one holds any state yet, so no one answers.",
      );
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  await timeline.section(
    "5.1  Watchlist sync: a change on one device shows on the others",
    async () => {
      add(phone, THE_MATRIX);
      await step();
      await beat();
      add(web, PARASITE);
      await step();
      timeline.note(
        "Optimistic: the adding device shows the title at once, then publishes an OR-Set delta that the\nothers merge (spec 5.1).",
      );
      await beat();
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  await timeline.section(
    "7.2  Fight Club: added on the TV, removed on the phone, added again on the web",
    async () => {
      timeline.act(NETWORK, "partition: web is cut off from the others (fault)");
      driver.partition([web.deviceId]);
      add(tv, FIGHT_CLUB);
      await driver.until(() => phone.client.watchlist.has(FIGHT_CLUB.id), timing.stepTimeoutMs);
      await beat();
      const removed = liveDots(phone.client, FIGHT_CLUB.id);
      phone.client.watchlist.remove(FIGHT_CLUB.id);
      timeline.act(
        phone,
        `removes ${titleName(FIGHT_CLUB.id)} from the watchlist (the add it has seen)`,
        others(devices, phone, (observer) => seesRemove(observer, FIGHT_CLUB.id, removed)),
      );
      await beat();
      add(web, FIGHT_CLUB, ", offline: it has seen neither the add nor the remove");
      await beat();
      timeline.act(NETWORK, "partition heals");
      driver.heal();
      await step();
      timeline.note(
        `Fight Club is on every watchlist: ${everyone((d) => d.client.watchlist.has(FIGHT_CLUB.id))}\n` +
          "The phone's remove removed only the add it had observed (the TV's); the web's add was concurrent,\n" +
          "so it survives: add-wins, whatever order the three messages arrive in (DEVIATIONS 4).",
      );
      await beat();
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  let tvAt = 33 * 60 + 45;
  await timeline.section(
    "5.2  Handoff: watching on the TV, resuming on the phone",
    async () => {
      playAt(tv, FIGHT_CLUB, tvAt, "Playing", "plays Fight Club from");
      tvAt = await keepPlaying(tv, FIGHT_CLUB, tvAt, 8);
      playAt(tv, FIGHT_CLUB, tvAt, "Paused", "pauses Fight Club at");
      await step();
      timeline.note(
        "The TV's player reported its position every few seconds; progress goes out at most once per title\n" +
          "per throttle window, always the latest position, and at once on pause (spec 5.2).",
      );
      await beat();
      const resumeAt = phone.client.progress.get(FIGHT_CLUB.id)?.progress_seconds ?? 0;
      playAt(phone, FIGHT_CLUB, resumeAt, "Playing", "resumes Fight Club where the TV stopped:");
      await step();
      timeline.note("No handoff API: the phone read the synced position and resumed there.");
      await beat();
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  let castAt = 36 * 60;
  await timeline.section(
    "6.3  Remote commands: the phone sends the film back to the TV",
    async () => {
      await keepPlaying(
        phone,
        FIGHT_CLUB,
        tvAt,
        Math.max(0, Math.floor((castAt - tvAt) / timing.playerTickSec)),
      );
      castAt = phone.client.progress.get(FIGHT_CLUB.id)?.progress_seconds ?? castAt;
      playAt(phone, FIGHT_CLUB, castAt, "Paused", "pauses Fight Club at");
      await step();
      await command(
        phone,
        tv,
        { type: "LoadContent", params: { content_id: FIGHT_CLUB.id, start_position: castAt } },
        `LoadContent(Fight Club at ${position(castAt)})`,
      );
      await step();
      await beat();
      try {
        await driver.drive(web.client.sendCommand(phone.deviceId, { type: "Pause" }));
        timeline.event(web, "sends Pause to phone: sent (unexpected)");
      } catch (error) {
        if (!(error instanceof CommandRejectedError)) throw error;
        timeline.event(
          web,
          `sends Pause to phone: refused before sending, ${error.reason} (the phone is not remote-controllable, 6.3)`,
        );
      }
      await beat();
      timeline.act(NETWORK, "partition: tv is cut off from the others (fault)");
      driver.partition([tv.deviceId]);
      await command(
        phone,
        tv,
        { type: "VolumeSet", params: { level: 0.3 } },
        `VolumeSet(30 %), valid for ${timing.commandTtlMs / 1000} s,`,
        timing.commandTtlMs,
      );
      await driver.wait(timing.partitionMs);
      timeline.act(NETWORK, "partition heals");
      driver.heal();
      await step();
      timeline.note(
        "The TV got the VolumeSet from history after the partition, past its expiry, judged on the TV's own\nHLC (DEVIATIONS 8): refused, never run.",
      );
      await beat();
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  await timeline.section(
    `7.3  A slow clock: the web's wall clock runs ${Math.abs(WEB_CLOCK_SKEW_MS) / 1000} s behind`,
    async () => {
      const en = setPreference(phone, "subtitles.language", "en");
      await step();
      await beat();
      const webWallMs = web.clock.now();
      const fr = setPreference(web, "subtitles.language", "fr");
      await step();
      const earlierSec = (hlcWallMs(en.ts) - webWallMs) / 1000;
      timeline.note(
        `subtitles.language is "fr" everywhere: ${everyone((d) => d.client.preferences.get("subtitles.language") === "fr")}\n` +
          `By its own wall clock the web wrote ${earlierSec.toFixed(1)} s before the phone did, yet its stamp orders after\n` +
          `the phone's (${fr.ts} > ${en.ts}): its HLC moved past "en" when that arrived (7.3),\n` +
          "and LWW compares (HLC, device) (DEVIATIONS 3).",
      );
      await beat();
      setPreference(tv, "autoplay.next_episode", false);
      await step();
      await beat();
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  await timeline.section(
    "8.2  The phone goes to the background; the web loses its network",
    async () => {
      phone.client.background();
      timeline.act(
        phone,
        "goes to the background: presence Idle, heartbeat every " +
          `${phone.client.stats().heartbeats.intervalSec} s`,
        others(devices, phone, (observer) =>
          seesPresence(observer, phone.deviceId, "sees it Idle", (view) => view.activity === "Idle"),
        ),
      );
      await step();
      await beat();
      timeline.act(
        NETWORK,
        "web loses its network: no device_leave, it just goes quiet (fault)",
        [phone, tv].map((observer) =>
          seesPresence(observer, web.deviceId, "sees it offline", (view) => !view.online),
        ),
      );
      driver.disconnect(web.deviceId);
      await step();
      // Each observer counts from the last heartbeat it heard itself (its own clock).
      const lastHeard = [phone, tv].map((observer) => {
        const seen = viewOf(observer, web.deviceId)?.lastSeenMs;
        return {
          observer,
          at:
            seen === null || seen === undefined ? undefined : seen - observer.clock.now() + driver.elapsed(),
        };
      });
      const [phoneHeard, tvHeard] = lastHeard.map(({ at }) => at);
      const halfIntervalMs = (web.client.stats().heartbeats.intervalSec * 1000) / 2;
      const tvMissedOne =
        phoneHeard !== undefined && tvHeard !== undefined && tvHeard < phoneHeard - halfIntervalMs;
      timeline.note(
        "A graceful stop is seen at once (device_leave); a lost network only after two missed heartbeats\n" +
          "of the device's own announced interval (spec 8.2, DEVIATIONS 7), counted from the last one each\n" +
          `device heard: ${lastHeard.map(({ observer, at }) => `${observer.label} at ${at === undefined ? "?" : runTime(at)}`).join(", ")}.` +
          (tvMissedOne
            ? "\nHeartbeats are not kept in history: one sent while the TV was partitioned (6.3) never reached it."
            : ""),
      );
    },
    timing.stepTimeoutMs,
  );

  // -------------------------------------------------------------------------------------------
  await timeline.section(
    "6.4  Offline longer than history: the web reconciles",
    async () => {
      const before = syncPublishes.get(tv.deviceId) ?? 0;
      const half = Math.floor(timing.outageReports / 2);
      let at = castAt;
      await driver.wait(timing.playerTickMs);
      at += timing.playerTickSec;
      playAt(tv, FIGHT_CLUB, at, "Playing", "keeps playing Fight Club, now at");
      // Early in the outage, so that the TV's progress messages push it out of history.
      at = await keepPlaying(tv, FIGHT_CLUB, at, EARLY_REPORTS);
      add(tv, SE7EN);
      at = await keepPlaying(tv, FIGHT_CLUB, at, half - EARLY_REPORTS - 1);
      add(web, ARRIVAL, " while offline: shown at once, queued until the network is back");
      at = await keepPlaying(tv, FIGHT_CLUB, at, timing.outageReports - half);
      playAt(tv, FIGHT_CLUB, at, "Paused", "pauses Fight Club at");
      // Real-time runs are short: wait until the others have noticed the web is gone.
      await driver.until(
        () => [phone, tv].every((d) => viewOf(d, web.deviceId)?.online === false),
        timing.stepTimeoutMs,
      );
      await driver.until(() => (syncPublishes.get(tv.deviceId) ?? 0) - before > 100, timing.stepTimeoutMs);
      const published = (syncPublishes.get(tv.deviceId) ?? 0) - before;
      timeline.note(
        `While the web was away the TV published ${published} messages on ${syncChannel}. Its history keeps\n` +
          "the latest 100 (spec 9.1): the Se7en add is gone from it, and the web cannot tell what else it missed.",
      );
      timeline.act(
        NETWORK,
        "web's network is back",
        [phone, tv].map((observer) =>
          seesPresence(observer, web.deviceId, "sees it online", (view) => view.online),
        ),
      );
      driver.reconnect(web.deviceId);
      await step();
      await beat();
      phone.client.foreground();
      timeline.act(
        phone,
        "comes back to the foreground: heartbeat every " +
          `${phone.client.stats().heartbeats.intervalSec} s, and a reconciliation request (8.2)`,
        others(devices, phone, (observer) =>
          seesPresence(observer, phone.deviceId, "sees it active", (view) => view.activity !== "Idle"),
        ),
      );
      await step();
      await driver.settle(devices.map((d) => d.client));
      timeline.note(
        "The web asked for the state because history had a gap; any device holding it answers after a\n" +
          "random delay, unless an equal answer went out first, in chunks that are each a valid delta\n" +
          "(spec 6.4, DEVIATIONS 9).",
      );
    },
    timing.stepTimeoutMs,
  );

  return devices;
}
