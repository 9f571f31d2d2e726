/**
 * W3 wire (issue 8 §1): the W1 and W2 delivery streams as JSON text, taken end to end the way a
 * device takes a live message: `decodeMessage` (size check, JSON.parse, validation) →
 * `hlcReceive` → `applyMessageInto`. The ceiling is bare `JSON.parse` of the same strings
 * (target: ≥ 40 % of it). Yjs and Automerge have no JSON wire; their binary decoding is
 * already inside their W1/W2 apply rows.
 */
import {
  applyMessageInto,
  decodeMessage,
  encodedByteLength,
  encodeMessage,
  hlcReceive,
  type Message,
  syncStateEmpty,
  syncStateToJSON,
  type UserSyncState,
} from "../core-api.js";
import { measure } from "../harness.js";
import { interleave, type Stream } from "../inputs.js";
import type { Footprint, Row, SuiteOutput } from "../results.js";
import type { ReplicaSystem } from "./replica.js";

export interface WireStream {
  readonly name: "progress" | "watchlist";
  readonly texts: readonly string[];
}

/** The core's messages of a W1/W2 stream, in delivery order, as JSON text (untimed). */
export function wireTexts<Op, M extends Message>(
  stream: Stream<Op>,
  core: ReplicaSystem<Op, M, UserSyncState>,
): string[] {
  return interleave(stream, core.local(stream).shipped).map((message) => encodeMessage(message));
}

/** Live-message path of a device: what `applyMessage` does for network input. */
function receiveAll(texts: readonly string[], physicalMs: number): UserSyncState {
  const state = syncStateEmpty();
  let clock = 0;
  for (let i = 0; i < texts.length; i++) {
    const decoded = decodeMessage(texts[i]!);
    if (!decoded.ok)
      throw new Error(`W3: message ${i} rejected: ${decoded.error.path}: ${decoded.error.reason}`);
    const message = decoded.value;
    if (message.msg_type === "watch_progress_update" || message.msg_type === "watchlist_update") {
      clock = hlcReceive(clock, message.timestamp, physicalMs);
    }
    applyMessageInto(state, message);
  }
  return state;
}

function decodeAll(texts: readonly string[]): number {
  let sink = 0;
  for (let i = 0; i < texts.length; i++) if (decodeMessage(texts[i]!).ok) sink++;
  return sink;
}

function parseAll(texts: readonly string[]): number {
  let sink = 0;
  for (let i = 0; i < texts.length; i++)
    sink += (JSON.parse(texts[i]!) as { timestamp: number }).timestamp % 7;
  return sink;
}

export function runWire(
  streams: readonly WireStream[],
  physicalMs: number,
  samples: number,
  log: (line: string) => void,
): SuiteOutput {
  const rows: Row[] = [];
  const footprints: Footprint[] = [];
  const notes: string[] = [];
  for (const { name, texts } of streams) {
    let bytes = 0;
    for (const text of texts) bytes += encodedByteLength(text);
    const ops = texts.length;
    let encoded = 0;
    const end = measure({
      memory: true,
      ops,
      samples,
      warmups: 1,
      setup: () => texts,
      run: (t) => receiveAll(t, physicalMs),
      inspect: (state) => {
        encoded = encodedByteLength(JSON.stringify(syncStateToJSON(state)));
      },
    });
    const decode = measure({ ops, samples, warmups: 1, setup: () => texts, run: decodeAll });
    const parse = measure({ ops, samples, warmups: 1, setup: () => texts, run: parseAll });
    const workload = `W3 wire (${name})`;
    rows.push({
      id: `W3.${name}`,
      workload,
      measure: "decode + validate + HLC receive + apply, per message",
      unit: "message",
      baselineIs: "bare JSON.parse",
      systems: { "mg-sync": end, baseline: parse },
    });
    rows.push({
      id: `W3.${name}.decode`,
      workload,
      measure: "decodeMessage alone (size check + parse + validate)",
      unit: "message",
      baselineIs: "bare JSON.parse",
      systems: { "mg-sync": decode, baseline: parse },
    });
    footprints.push({
      workload: "W3",
      system: "mg-sync",
      what: `${name} replica built from ${ops.toLocaleString("en-US")} JSON messages`,
      heapBytes: end.retainedBytes,
      encodedBytes: encoded,
    });
    notes.push(
      `W3 ${name}: ${ops.toLocaleString("en-US")} messages, ${(bytes / ops).toFixed(0)} bytes each on average (${(bytes / 2 ** 20).toFixed(1)} MiB).`,
    );
    log(
      `  W3 ${name.padEnd(9)} end-to-end ${(end.medianOpsPerSec / 1e3).toFixed(0)}k/s  decode ${(decode.medianOpsPerSec / 1e3).toFixed(0)}k/s  JSON.parse ${(parse.medianOpsPerSec / 1e3).toFixed(0)}k/s`,
    );
  }
  return { rows, footprints, notes };
}
