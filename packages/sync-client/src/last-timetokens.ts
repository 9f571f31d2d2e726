/**
 * Where history catch-up resumes (spec 9.1, docs/protocol.md §7.1): per channel, the newest
 * timetoken of a sync delta merged from it, persisted in the snapshot as `lastTimetokens`.
 *
 * A live timetoken may only move that point once everything before it has arrived. While a
 * catch-up is running (ours from history at start, or the transport's after a drop, between
 * `disconnected` and `reconnected`), newer live messages can overtake older ones still being
 * delivered; had their timetokens been adopted, a snapshot taken then would resume after
 * messages this device never merged (found by the simulation, README "Bugs found" E). So live
 * timetokens are held back while any catch-up runs, and adopted when the last one has ended.
 */
import { type Timetoken, timetokenCompare } from "@mg-sync/crdt-core";

/** What holds live timetokens back: our history catch-up, or the transport's after a drop. */
export type CatchUp = "history" | "transport";

export class LastTimetokens {
  readonly #last = new Map<string, Timetoken>();
  /** Live timetokens seen while a catch-up runs: adopted once none does. */
  readonly #deferred = new Map<string, Timetoken>();
  readonly #running = new Set<CatchUp>();

  /** `restored`: a snapshot's `lastTimetokens`. */
  constructor(restored: Readonly<Record<string, Timetoken>>) {
    for (const [channel, timetoken] of Object.entries(restored)) this.#last.set(channel, timetoken);
  }

  get(channel: string): Timetoken | undefined {
    return this.#last.get(channel);
  }

  /** Live timetokens are held back from now until `endCatchUp(kind)` (and any other catch-up). */
  beginCatchUp(kind: CatchUp): void {
    this.#running.add(kind);
  }

  /** A sync delta from `channel` was merged. */
  track(channel: string, timetoken: Timetoken, source: "live" | "history"): void {
    const map = this.#running.size > 0 && source === "live" ? this.#deferred : this.#last;
    advanceTimetoken(map, channel, timetoken);
  }

  /** `kind` has ended; once no catch-up runs, adopts the live timetokens held back. */
  endCatchUp(kind: CatchUp): void {
    this.#running.delete(kind);
    if (this.#running.size > 0) return;
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
