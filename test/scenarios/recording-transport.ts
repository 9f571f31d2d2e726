/**
 * A Transport decorator that forwards every call unchanged and writes down each `publish` (the
 * channel, the payload as handed over, and how the call ended) and every status event. The simulation's oracle reads
 * its operation log from here (what each device actually published), and the scenarios use it
 * to check what went over the wire (the TV published Paused, the phone published one add).
 */
import type { PublishOptions, Timetoken, Transport, TransportStatus } from "@mg-sync/crdt-core";

export type PublishOutcome =
  | { readonly kind: "pending" }
  | { readonly kind: "acked"; readonly timetoken: Timetoken }
  | { readonly kind: "failed"; readonly code: string };

export interface PublishRecord {
  readonly publisher: string;
  readonly channel: string;
  readonly payload: unknown;
  readonly storeInHistory: boolean;
  outcome: PublishOutcome;
}

export interface RecordingTransport extends Transport {
  /** Every publish call, in call order (retries appear once per attempt). */
  readonly publishes: readonly PublishRecord[];
  /** Every status the transport reported (connected, disconnected, reconnected, …), in order. */
  readonly statuses: readonly TransportStatus[];
}

/** `log`: where records go (share one array between devices for a household-wide log). */
export function recording(inner: Transport, log: PublishRecord[] = []): RecordingTransport {
  const own: PublishRecord[] = [];
  const statuses: TransportStatus[] = [];
  inner.addListener({ status: (status) => statuses.push(status) });
  return {
    clientId: inner.clientId,
    maxMessageBytes: inner.maxMessageBytes,
    publishes: own,
    statuses,
    publish(channel: string, payload: unknown, options?: PublishOptions) {
      const record: PublishRecord = {
        publisher: inner.clientId,
        channel,
        payload,
        storeInHistory: options?.storeInHistory ?? true,
        outcome: { kind: "pending" },
      };
      own.push(record);
      log.push(record);
      const call = inner.publish(channel, payload, options);
      call.then(
        (result) => {
          record.outcome = { kind: "acked", timetoken: result.timetoken };
        },
        (error: unknown) => {
          const code = (error as { code?: unknown } | null)?.code;
          record.outcome = { kind: "failed", code: typeof code === "string" ? code : String(error) };
        },
      );
      return call;
    },
    subscribe: (options) => inner.subscribe(options),
    unsubscribe: (options) => inner.unsubscribe(options),
    history: (channel, options) => inner.history(channel, options),
    heartbeat: (options) => inner.heartbeat(options),
    setState: (options) => inner.setState(options),
    hereNow: (options) => inner.hereNow(options),
    leave: (options) => inner.leave(options),
    addChannelsToGroup: (group, channels) => inner.addChannelsToGroup(group, channels),
    removeChannelsFromGroup: (group, channels) => inner.removeChannelsFromGroup(group, channels),
    listChannelsInGroup: (group) => inner.listChannelsInGroup(group),
    deleteChannelGroup: (group) => inner.deleteChannelGroup(group),
    addListener: (listener) => inner.addListener(listener),
    close: () => inner.close(),
  };
}
