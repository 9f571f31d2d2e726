/**
 * W1 progress (issue 8 §1): watch-progress updates, a last-writer-wins map per system.
 * Yjs: one `Y.Map`, every update its own transaction, shipped as its `update` event.
 * Automerge: the document's root map, one `change` per update, shipped as that change.
 * Baseline: a `Map` keeping the record with the larger `(ts, node)`.
 */
import * as A from "@automerge/automerge";
import * as Y from "yjs";
import {
  applyMessageInto,
  encodedByteLength,
  hlcTick,
  mergeStates,
  syncStateEmpty,
  syncStateToJSON,
  type UserSyncState,
  type WatchProgressUpdateMessage,
  watchProgressMessage,
} from "../core-api.js";
import { DEVICES, type PlaybackState, type ProgressOp, type Stream } from "../inputs.js";
import { plainTick } from "./plain-hlc.js";
import type { LocalRun, ReplicaSystem } from "./replica.js";

/** The value every peer stores per title: the fields of spec 3.1 that survive a merge. */
interface ProgressValue {
  progress_seconds: number;
  duration_seconds: number;
  completion_percent: number;
  state: PlaybackState;
  device_type: string;
}

function value(op: ProgressOp, deviceType: string): ProgressValue {
  return {
    progress_seconds: op.progress,
    duration_seconds: op.duration,
    completion_percent: op.duration === 0 ? 0 : Math.min(1, op.progress / op.duration),
    state: op.state,
    device_type: deviceType,
  };
}

/** Distinct titles each device wrote, summed: the entries a full-state merge joins. */
export function progressMergeEntries(stream: Stream<ProgressOp>): number {
  let entries = 0;
  for (const ops of stream.ops) entries += new Set(ops.map((op) => op.title)).size;
  return entries;
}

// `empty`, `apply`, `merge` and `encodedBytes` repeat watchlist.ts's on purpose: one shared function
// would share V8's type feedback between W1's and W2's message shapes, and each workload's hot
// loop would run polymorphic, measuring the mix instead of the workload.
export const coreProgress: ReplicaSystem<ProgressOp, WatchProgressUpdateMessage, UserSyncState> = {
  name: "mg-sync",
  local(stream) {
    const run: LocalRun<WatchProgressUpdateMessage, UserSyncState> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      const state = syncStateEmpty();
      const out = new Array<WatchProgressUpdateMessage>(ops.length);
      let clock = 0;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        clock = hlcTick(clock, op.phys);
        // The one merge path: build the message, apply it locally, publish it.
        const message = watchProgressMessage({
          content_id: op.title,
          progress_seconds: op.progress,
          duration_seconds: op.duration,
          state: op.state,
          device_id: device.id,
          device_type: device.type,
          timestamp: clock,
        });
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

export const yjsProgress: ReplicaSystem<ProgressOp, Uint8Array, Y.Doc> = {
  name: "yjs",
  local(stream) {
    const run: LocalRun<Uint8Array, Y.Doc> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      const doc = new Y.Doc();
      doc.clientID = device.index + 1;
      const map = doc.getMap<ProgressValue>("progress");
      const out: Uint8Array[] = [];
      doc.on("update", (update: Uint8Array) => {
        out.push(update);
      });
      // Outside `transact`, every `set` is its own transaction and emits its own update.
      for (let i = 0; i < ops.length; i++) map.set(ops[i]!.title, value(ops[i]!, device.type));
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

type AmProgress = Record<string, ProgressValue>;

export const automergeProgress: ReplicaSystem<ProgressOp, A.Change, A.Doc<AmProgress>> = {
  name: "automerge",
  local(stream) {
    const run: LocalRun<A.Change, A.Doc<AmProgress>> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      let doc = A.init<AmProgress>({ actor: device.actor });
      const out: A.Change[] = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        doc = A.change(doc, (d) => {
          d[op.title] = value(op, device.type);
        });
        out.push(A.getLastLocalChange(doc)!);
      }
      run.shipped.push(out);
      run.states.push(doc);
    }
    return run;
  },
  empty: () => A.init<AmProgress>(),
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

/** The baseline's record: the message's fields, flat. */
interface PlainProgress extends ProgressValue {
  content_id: string;
  timestamp: number;
  device_id: string;
}

type PlainProgressMap = Map<string, PlainProgress>;

function plainSet(map: PlainProgressMap, record: PlainProgress): void {
  const current = map.get(record.content_id);
  if (
    current === undefined ||
    record.timestamp > current.timestamp ||
    (record.timestamp === current.timestamp && record.device_id > current.device_id)
  ) {
    map.set(record.content_id, record);
  }
}

export const baselineProgress: ReplicaSystem<ProgressOp, PlainProgress, PlainProgressMap> = {
  name: "baseline",
  local(stream) {
    const run: LocalRun<PlainProgress, PlainProgressMap> = { shipped: [], states: [] };
    for (const device of DEVICES) {
      const ops = stream.ops[device.index]!;
      const map: PlainProgressMap = new Map();
      const out = new Array<PlainProgress>(ops.length);
      let clock = 0;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        clock = plainTick(clock, op.phys);
        const record: PlainProgress = {
          content_id: op.title,
          progress_seconds: op.progress,
          duration_seconds: op.duration,
          completion_percent: op.duration === 0 ? 0 : Math.min(1, op.progress / op.duration),
          state: op.state,
          device_type: device.type,
          timestamp: clock,
          device_id: device.id,
        };
        plainSet(map, record);
        out[i] = record;
      }
      run.shipped.push(out);
      run.states.push(map);
    }
    return run;
  },
  empty: () => new Map(),
  apply(map, records) {
    for (let i = 0; i < records.length; i++) plainSet(map, records[i]!);
    return map;
  },
  merge(states) {
    const out: PlainProgressMap = new Map(states[0]!);
    for (let s = 1; s < states.length; s++) for (const record of states[s]!.values()) plainSet(out, record);
    return out;
  },
  encodedBytes: (map) => encodedByteLength(JSON.stringify([...map.values()])),
};
