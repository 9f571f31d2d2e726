/** Records everything a transport's listener hears, in arrival order. */
import type {
  Timetoken,
  Transport,
  TransportMessage,
  TransportPresenceEvent,
  TransportStatus,
} from "@mg-sync/crdt-core";

export interface Recorder {
  readonly messages: TransportMessage[];
  readonly presence: TransportPresenceEvent[];
  readonly statuses: TransportStatus[];
  /** Every event as `message <tt>`, `presence <action> <uuid>` or `status <type>`, in order. */
  readonly events: string[];
}

export function record(transport: Transport): Recorder {
  const recorder: Recorder = { messages: [], presence: [], statuses: [], events: [] };
  transport.addListener({
    message: (message) => {
      recorder.messages.push(message);
      recorder.events.push(`message ${message.timetoken}`);
    },
    presence: (event) => {
      recorder.presence.push(event);
      recorder.events.push(`presence ${event.action} ${event.uuid}`);
    },
    status: (status) => {
      recorder.statuses.push(status);
      recorder.events.push(`status ${status.type}`);
    },
  });
  return recorder;
}

/** Timetokens of the distinct messages, in order of first arrival. */
export function firstSeen(messages: readonly TransportMessage[]): Timetoken[] {
  const seen = new Set<Timetoken>();
  for (const message of messages) seen.add(message.timetoken);
  return [...seen];
}

/** The `seq` payload field of the distinct messages from `publisher`, in order of first arrival. */
export function sequenceFrom(messages: readonly TransportMessage[], publisher: string): number[] {
  const seen = new Set<Timetoken>();
  const out: number[] = [];
  for (const message of messages) {
    if (message.publisher !== publisher || seen.has(message.timetoken)) continue;
    seen.add(message.timetoken);
    out.push((message.payload as { seq: number }).seq);
  }
  return out;
}

/** A promise's state without waiting for it. */
export function track<T>(promise: Promise<T>): {
  readonly settled: () => boolean;
  readonly promise: Promise<T>;
} {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return { settled: () => settled, promise };
}
