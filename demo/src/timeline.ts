/**
 * The readable timeline: who did what and when, and when each other device saw it. An action
 * comes with watches (one per observing device, a check on that device's own state); every
 * event a device's client emits re-checks that device's open watches, so an observation is
 * timed at the delivery that caused it, whichever path brought it (live, history, a
 * reconciliation chunk). A section is printed once its watches are seen, sorted by time.
 */
import type { Driver } from "./drivers/driver.js";
import { delay, runTime } from "./format-time.js";
import type { Device } from "./household.js";

export interface Watch {
  readonly observer: Device;
  /** What the observer does on seeing it ("runs it"); default nothing: it just has it. */
  readonly saw?: string | (() => string);
  readonly check: () => boolean;
}

interface OpenWatch {
  readonly watch: Watch;
  seenAt: number | undefined;
}

type EntryKind = "action" | "event" | "note";

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly who: string;
  readonly kind: EntryKind;
  text: string;
  readonly watches: OpenWatch[];
}

const WHO_WIDTH = 7;
const INDENT = " ".repeat(2 + 9 + 2 + WHO_WIDTH + 1);

export class Timeline {
  readonly #driver: Driver;
  readonly #write: (line: string) => void;
  readonly #quiet: boolean;
  #entries: Entry[] = [];
  #open: OpenWatch[] = [];
  #seq = 0;

  constructor(driver: Driver, write: (line: string) => void, quiet: boolean) {
    this.#driver = driver;
    this.#write = write;
    this.#quiet = quiet;
  }

  /** Re-checks `device`'s open watches whenever its client reports something. */
  attach(device: Device): void {
    const poke = () => this.#poke(device);
    device.client.on("change", poke);
    device.client.on("devices", poke);
    device.client.on("status", poke);
    device.client.on("commandRejected", poke);
    device.client.onCommand(poke);
  }

  /** Something a device (or the network) did, and who should see it. */
  act(who: Device | string, text: string, watches: readonly Watch[] = []): Entry {
    const entry: Entry = {
      at: this.#driver.elapsed(),
      seq: this.#seq++,
      who: typeof who === "string" ? who : who.label,
      kind: "action",
      text,
      watches: watches.map((watch) => ({ watch, seenAt: undefined })),
    };
    this.#entries.push(entry);
    this.#open.push(...entry.watches);
    // Seen already (a change another action made visible): timed now.
    this.#pokeAll();
    return entry;
  }

  /** Something that happened to a device (a status, a refusal): no watches. */
  event(who: Device | string, text: string): Entry {
    const entry: Entry = {
      at: this.#driver.elapsed(),
      seq: this.#seq++,
      who: typeof who === "string" ? who : who.label,
      kind: "event",
      text,
      watches: [],
    };
    this.#entries.push(entry);
    return entry;
  }

  /** An explanation, printed in place without a time. */
  note(text: string): void {
    this.#entries.push({
      at: this.#driver.elapsed(),
      seq: this.#seq++,
      who: "",
      kind: "note",
      text,
      watches: [],
    });
  }

  /** Lets time pass until every open watch is seen, at most `maxMs`; says whether all were. */
  settle(maxMs: number): Promise<boolean> {
    return this.#driver.until(() => {
      this.#pokeAll();
      return this.#open.length === 0;
    }, maxMs);
  }

  /** Prints a section title and then everything recorded since the last one, by time. */
  async section(title: string, body: () => Promise<void>, maxMs: number): Promise<void> {
    await body();
    await this.settle(maxMs);
    this.#print(title);
  }

  #print(title: string): void {
    const entries = this.#entries.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.#entries = [];
    this.#open = this.#open.filter((open) => open.seenAt === undefined);
    if (this.#quiet) return;
    this.#write("");
    this.#write(title);
    for (const entry of entries) {
      if (entry.kind === "note") {
        for (const line of entry.text.split("\n")) this.#write(`${INDENT}${line}`);
        continue;
      }
      this.#write(`  ${runTime(entry.at)}  ${entry.who.padEnd(WHO_WIDTH)} ${entry.text}`);
      if (entry.watches.length > 0)
        this.#write(`${INDENT}↳ ${entry.watches.map((o) => seen(o, entry.at)).join(" · ")}`);
    }
  }

  #poke(device: Device): void {
    if (this.#open.length === 0) return;
    const now = this.#driver.elapsed();
    for (const open of this.#open) {
      if (open.seenAt === undefined && open.watch.observer === device && open.watch.check())
        open.seenAt = now;
    }
    this.#open = this.#open.filter((open) => open.seenAt === undefined);
  }

  #pokeAll(): void {
    if (this.#open.length === 0) return;
    const now = this.#driver.elapsed();
    for (const open of this.#open) {
      if (open.seenAt === undefined && open.watch.check()) open.seenAt = now;
    }
    this.#open = this.#open.filter((open) => open.seenAt === undefined);
  }
}

function seen(open: OpenWatch, since: number): string {
  const { observer, saw } = open.watch;
  const what = saw === undefined ? "" : ` ${typeof saw === "string" ? saw : saw()}`;
  if (open.seenAt === undefined) return `${observer.label}${what}: not seen`;
  return `${observer.label}${what} ${delay(open.seenAt - since)}`;
}
