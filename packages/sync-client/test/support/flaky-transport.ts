/**
 * Fault injection around a real transport: the next `failures` publishes on a channel reject
 * with a retryable `TransportError("network")` before reaching the network (what a phone sees
 * when its request times out). Everything else is the wrapped transport's.
 */
import { type PublishOptions, type Timetoken, type Transport, TransportError } from "@mg-sync/crdt-core";

export interface FlakyTransport extends Transport {
  /** Makes the next `count` publishes on `channel` fail. */
  failNext(channel: string, count: number): void;
  /** Payloads actually handed to the network, per channel, in order. */
  readonly sent: Map<string, unknown[]>;
  readonly failed: number;
}

export function flaky(inner: Transport): FlakyTransport {
  const failures = new Map<string, number>();
  const sent = new Map<string, unknown[]>();
  let failed = 0;
  return {
    clientId: inner.clientId,
    maxMessageBytes: inner.maxMessageBytes,
    sent,
    get failed() {
      return failed;
    },
    failNext(channel: string, count: number) {
      failures.set(channel, count);
    },
    publish(
      channel: string,
      payload: unknown,
      options?: PublishOptions,
    ): Promise<{ readonly timetoken: Timetoken }> {
      const left = failures.get(channel) ?? 0;
      if (left > 0) {
        failures.set(channel, left - 1);
        failed++;
        return Promise.reject(new TransportError("network", "publish", "request timed out"));
      }
      let list = sent.get(channel);
      if (list === undefined) {
        list = [];
        sent.set(channel, list);
      }
      list.push(payload);
      return inner.publish(channel, payload, options);
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
