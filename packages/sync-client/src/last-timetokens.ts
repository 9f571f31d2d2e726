/**
 * Where history catch-up resumes (spec 9.1, docs/protocol.md §7.1): per channel, the newest
 * timetoken of a sync delta merged from it, persisted in the snapshot as `lastTimetokens`.
 */
import { type Timetoken, timetokenCompare } from "@mg-sync/crdt-core";

export class LastTimetokens {
  readonly #last = new Map<string, Timetoken>();
  /** Live timetokens seen while history catch-up runs: adopted once it has. */
  readonly #deferred = new Map<string, Timetoken>();
  #catchingUp = false;

  /** `restored`: a snapshot's `lastTimetokens`. */
  constructor(restored: Readonly<Record<string, Timetoken>>) {
    for (const [channel, timetoken] of Object.entries(restored)) this.#last.set(channel, timetoken);
  }

  get(channel: string): Timetoken | undefined {
    return this.#last.get(channel);
  }

  /** Live timetokens are held back from now until `endCatchUp()`. */
  beginCatchUp(): void {
    this.#catchingUp = true;
  }

  /** A sync delta from `channel` was merged. */
  track(channel: string, timetoken: Timetoken, source: "live" | "history"): void {
    const map = this.#catchingUp && source === "live" ? this.#deferred : this.#last;
    advanceTimetoken(map, channel, timetoken);
  }

  /** Adopts the live timetokens held back while catching up. */
  endCatchUp(): void {
    this.#catchingUp = false;
    for (const [channel, timetoken] of this.#deferred) {
      advanceTimetoken(this.#last, channel, timetoken);
    }
    this.#deferred.clear();
  }

  /** For the snapshot. */
  toRecord(): Record<string, Timetoken> {
    const record: Record<string, Timetoken> = {};
    for (const [channel, timetoken] of this.#last) {
      Object.defineProperty(record, channel, { value: timetoken, enumerable: true, writable: true });
    }
    return record;
  }
}

function advanceTimetoken(map: Map<string, Timetoken>, channel: string, timetoken: Timetoken): void {
  const current = map.get(channel);
  if (current === undefined || timetokenCompare(timetoken, current) > 0) map.set(channel, timetoken);
}
