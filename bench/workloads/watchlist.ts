/**
 * W2 watchlist (issue 8 §1): adds and removes, 60/40. mg-sync is a causal add-wins OR-Set.
 * Yjs and Automerge have no add-wins set, so they get what an app would write with them: a map
 * keyed by title, `set` to add and `delete` to remove (a concurrent add and remove is decided by
 * their map's conflict rule, not "add wins"). The baseline is a textbook op-based OR-Set,
 * `Map<element, Map<tag, payload>>`: correct only under causal delivery without duplicates,
 * which this workload gives it, and that is why it is a ceiling, not a peer.
 */
import * as A from "@automerge/automerge";
import * as Y from "yjs";
import {
  applyMessageInto,
  type ContentSnippet,
  encodedByteLength,
  hlcTick,
  mergeStates,
  syncStateEmpty,
  syncStateToJSON,
  type UserSyncState,
  type WatchlistUpdateMessage,
  watchlistAddMessage,
  watchlistRemoveMessage,
} from "../core-api.js";
import { DEVICES, type Stream, type WatchlistOp } from "../inputs.js";
import { plainTick } from "./plain-hlc.js";
import type { LocalRun, ReplicaSystem } from "./replica.js";

/** What every system stores per listed title (mg-sync's `WatchlistItem`). */
interface Item {
  added_at: number;
  added_by: string;
  content_metadata: ContentSnippet;
}

/** Titles on each device's list at the end, summed: the entries a full-state merge joins. */
export function watchlistMergeEntries(stream: Stream<WatchlistOp>): number {
  let entries = 0;
  for (const ops of stream.ops) {
    const listed = new Set<string>();
    for (const op of ops) {
      if (op.add) listed.add(op.title);
      else listed.delete(op.title);
    }
    entries += listed.size;
  }
  return entries;
}

// `empty`, `apply`, `merge` and `encodedBytes` repeat progress.ts's on purpose: one shared function
// would share V8's type feedback between W1's and W2's message shapes, and each workload's hot
// loop would run polymorphic, measuring the mix instead of the workload.
export const coreWatchlist: ReplicaSystem<WatchlistOp, WatchlistUpdateMessage, UserSyncState> = {
  name: "mg-sync",
  local(stream) {
    const run: LocalRun<WatchlistUpdateMessage, UserSyncState> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      const state = syncStateEmpty();
      const out = new Array<WatchlistUpdateMessage>(ops.length);
      let clock = 0;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        clock = hlcTick(clock, op.phys);
        const message = op.add
          ? watchlistAddMessage(state, {
              content_id: op.title,
              device_id: device.id,
              timestamp: clock,
              replica: device.replica,
              content_metadata: op.snippet,
            })
          : watchlistRemoveMessage(state, { content_id: op.title, device_id: device.id, timestamp: clock });
        applyMessageInto(state, message);
        out[i] = message;
      }
      run.shipped.push(out);
      run.states.push(state);
    }
    return run;
  },
  empty: syncStateEmpty,
  apply(replica, messages) {
    for (let i = 0; i < messages.length; i++) applyMessageInto(replica, messages[i]!);
    return replica;
  },
  merge(states) {
    return mergeStates(mergeStates(states[0]!, states[1]!), states[2]!);
  },
  encodedBytes(state) {
    return encodedByteLength(JSON.stringify(syncStateToJSON(state)));
  },
};

export const yjsWatchlist: ReplicaSystem<WatchlistOp, Uint8Array, Y.Doc> = {
  name: "yjs",
  local(stream) {
    const run: LocalRun<Uint8Array, Y.Doc> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      const doc = new Y.Doc();
      doc.clientID = device.index + 1;
      const map = doc.getMap<Item>("watchlist");
      const out: Uint8Array[] = [];
      doc.on("update", (update: Uint8Array) => {
        out.push(update);
      });
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        if (op.add) map.set(op.title, { added_at: op.ts, added_by: device.id, content_metadata: op.snippet });
        else map.delete(op.title);
      }
      run.shipped.push(out);
      run.states.push(doc);
    }
    return run;
  },
  empty: () => new Y.Doc(),
  apply(doc, updates) {
    for (let i = 0; i < updates.length; i++) Y.applyUpdate(doc, updates[i]!);
    return doc;
  },
  merge(states) {
    const doc = new Y.Doc();
    for (const state of states) Y.applyUpdate(doc, Y.encodeStateAsUpdate(state));
    return doc;
  },
  encodedBytes: (doc) => Y.encodeStateAsUpdate(doc).byteLength,
};

type AmWatchlist = Record<string, Item>;

export const automergeWatchlist: ReplicaSystem<WatchlistOp, A.Change, A.Doc<AmWatchlist>> = {
  name: "automerge",
  local(stream) {
    const run: LocalRun<A.Change, A.Doc<AmWatchlist>> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      let doc = A.init<AmWatchlist>({ actor: device.actor });
      const out: A.Change[] = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        doc = A.change(doc, (d) => {
          if (op.add) d[op.title] = { added_at: op.ts, added_by: device.id, content_metadata: op.snippet };
          else delete d[op.title];
        });
        out.push(A.getLastLocalChange(doc)!);
      }
      run.shipped.push(out);
      run.states.push(doc);
    }
    return run;
  },
  empty: () => A.init<AmWatchlist>(),
  apply(doc, changes) {
    let current = doc;
    for (let i = 0; i < changes.length; i++) [current] = A.applyChanges(current, [changes[i]!]);
    return current;
  },
  merge(states) {
    return A.merge(A.merge(A.clone(states[0]!), states[1]!), states[2]!);
  },
  encodedBytes: (doc) => A.save(doc).byteLength,
};

/** An add carries its fresh tag and payload; both ops carry the tags they observed and retire. */
interface PlainOp {
  element: string;
  /** 0 for a remove. */
  tag: number;
  payload: Item | undefined;
  observed: number[];
}

type PlainOrSet = Map<string, Map<number, Item>>;

function plainApply(set: PlainOrSet, op: PlainOp): void {
  let tags = set.get(op.element);
  if (tags !== undefined) for (let i = 0; i < op.observed.length; i++) tags.delete(op.observed[i]!);
  if (op.tag !== 0) {
    if (tags === undefined) {
      tags = new Map();
      set.set(op.element, tags);
    }
    tags.set(op.tag, op.payload!);
  } else if (tags !== undefined && tags.size === 0) {
    set.delete(op.element);
  }
}

export const baselineWatchlist: ReplicaSystem<WatchlistOp, PlainOp, PlainOrSet> = {
  name: "baseline",
  local(stream) {
    const run: LocalRun<PlainOp, PlainOrSet> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      const set: PlainOrSet = new Map();
      const out = new Array<PlainOp>(ops.length);
      let clock = 0;
      let counter = 0;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        clock = plainTick(clock, op.phys);
        const tags = set.get(op.title);
        const observed = tags === undefined ? [] : [...tags.keys()];
        // Tags unique across devices without strings: counter * 4 + device.
        const plain: PlainOp = op.add
          ? {
              element: op.title,
              tag: ++counter * 4 + device.index + 1,
              payload: { added_at: clock, added_by: device.id, content_metadata: op.snippet },
              observed,
            }
          : { element: op.title, tag: 0, payload: undefined, observed };
        plainApply(set, plain);
        out[i] = plain;
      }
      run.shipped.push(out);
      run.states.push(set);
    }
    return run;
  },
  empty: () => new Map(),
  apply(set, ops) {
    for (let i = 0; i < ops.length; i++) plainApply(set, ops[i]!);
    return set;
  },
  merge(states) {
    const out: PlainOrSet = new Map();
    for (const state of states) {
      for (const [element, tags] of state) {
        const mine = out.get(element);
        if (mine === undefined) out.set(element, new Map(tags));
        else for (const [tag, item] of tags) mine.set(tag, item);
      }
    }
    return out;
  },
  encodedBytes: (set) => encodedByteLength(JSON.stringify([...set].map(([e, tags]) => [e, [...tags]]))),
};
