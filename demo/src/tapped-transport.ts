/**
 * A `Transport` that passes every call through and lets the demo watch the wire: it counts
 * acknowledged publishes and delivered messages (the throughput line) and reports what a device
 * sends (the timeline names reconciliation requests and answers). It changes nothing it carries.
 */
import type {
  HeartbeatOptions,
  HereNowResult,
  HistoryOptions,
  HistoryResult,
  PublishOptions,
  SubscribeOptions,
  Timetoken,
  Transport,
  TransportListener,
} from "@mg-sync/crdt-core";

export interface WireCounters {
  published: number;
  delivered: number;
  /** UTF-8 bytes of the JSON of acknowledged payloads. */
  publishedBytes: number;
}

export type PublishTap = (deviceId: string, channel: string, payload: unknown) => void;

const encoder = new TextEncoder();

export class TappedTransport implements Transport {
  readonly #inner: Transport;
  readonly #counters: WireCounters;
  readonly #onPublish: PublishTap;

  constructor(inner: Transport, counters: WireCounters, onPublish: PublishTap) {
    this.#inner = inner;
    this.#counters = counters;
    this.#onPublish = onPublish;
    inner.addListener({
      message: () => {
        counters.delivered++;
      },
    });
  }

  get clientId(): string {
    return this.#inner.clientId;
  }

  get maxMessageBytes(): number {
    return this.#inner.maxMessageBytes;
  }

  async publish(
    channel: string,
    payload: unknown,
    options?: PublishOptions,
  ): Promise<{ readonly timetoken: Timetoken }> {
    this.#onPublish(this.#inner.clientId, channel, payload);
    const result = await this.#inner.publish(channel, payload, options);
    this.#counters.published++;
    this.#counters.publishedBytes += encoder.encode(JSON.stringify(payload)).byteLength;
    return result;
  }

  subscribe(options: SubscribeOptions): Promise<void> {
    return this.#inner.subscribe(options);
  }

  unsubscribe(options: SubscribeOptions): Promise<void> {
    return this.#inner.unsubscribe(options);
  }

  history(channel: string, options?: HistoryOptions): Promise<HistoryResult> {
    return this.#inner.history(channel, options);
  }

  heartbeat(options: HeartbeatOptions): Promise<void> {
    return this.#inner.heartbeat(options);
  }

  setState(options: { readonly channels: readonly string[]; readonly state: unknown }): Promise<void> {
    return this.#inner.setState(options);
  }

  hereNow(options: {
    readonly channels: readonly string[];
    readonly includeState?: boolean;
  }): Promise<HereNowResult> {
    return this.#inner.hereNow(options);
  }

  leave(options: {
    readonly channels?: readonly string[];
    readonly channelGroups?: readonly string[];
  }): Promise<void> {
    return this.#inner.leave(options);
  }

  addChannelsToGroup(group: string, channels: readonly string[]): Promise<void> {
    return this.#inner.addChannelsToGroup(group, channels);
  }

  removeChannelsFromGroup(group: string, channels: readonly string[]): Promise<void> {
    return this.#inner.removeChannelsFromGroup(group, channels);
  }

  listChannelsInGroup(group: string): Promise<readonly string[]> {
    return this.#inner.listChannelsInGroup(group);
  }

  deleteChannelGroup(group: string): Promise<void> {
    return this.#inner.deleteChannelGroup(group);
  }

  addListener(listener: TransportListener): () => void {
    return this.#inner.addListener(listener);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
