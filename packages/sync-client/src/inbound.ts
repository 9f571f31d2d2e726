/**
 * The first half of the one inbound path (ARCHITECTURE.md, "Data flow of one change"): a
 * transport payload becomes a validated `Message` for its channel, or a counted rejection.
 * Live messages, history pages and reconciliation chunks all come through here.
 *
 * payload → on an encrypted channel it must be the `{enc}` envelope → `decryptPayload` (the
 * channel is the additional data, DEVIATIONS 10) → `decodeMessage`; elsewhere the payload
 * object → `parseMessage` (DEVIATIONS 11) → `channelAccepts(channel, msg_type)`.
 *
 * Decryption is async, but the client must handle messages in the order the transport
 * delivered them (per-publisher FIFO, and a deterministic trace on a seeded network). The
 * `InboundQueue` keeps that order: a plaintext message with nothing ahead of it is handled in
 * the same turn it arrived; anything behind a decryption waits for it.
 */
import {
  type ChannelMatcher,
  channelAccepts,
  DecryptError,
  decodeMessage,
  decryptPayload,
  isEncryptedEnvelope,
  type Message,
  parseMessage,
} from "@mg-sync/crdt-core";

export type InboundRejection =
  /** Not a valid message (shape, ranges, unknown `msg_type`, bad JSON). */
  | "invalid"
  /** A valid message of a type its channel does not carry (spec 2.1). */
  | "wrong_channel"
  /** Encrypted and not decryptable here, or plaintext on a channel that must be encrypted. */
  | "undecryptable"
  /** Stamped too far ahead of our clock (DEVIATIONS 2). */
  | "drift"
  /** A watchlist add reusing a dot for another title (a buggy or hostile peer). */
  | "double_spent_dot";

export const INBOUND_REJECTIONS: readonly InboundRejection[] = Object.freeze([
  "invalid",
  "wrong_channel",
  "undecryptable",
  "drift",
  "double_spent_dot",
]);

export type Decoded =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly reason: InboundRejection; readonly detail: string };

export interface PayloadDecoder {
  /** A result now, or a promise (never rejected) when the payload must be decrypted. */
  decode(channel: string, payload: unknown): Decoded | Promise<Decoded>;
}

/**
 * `encrypted` says which channels must carry envelopes; a client without a key passes a matcher
 * that matches nothing, and then refuses envelopes it cannot open as `undecryptable`.
 */
export function createPayloadDecoder(key: CryptoKey | undefined, encrypted: ChannelMatcher): PayloadDecoder {
  return {
    decode(channel, payload) {
      if (key !== undefined && encrypted(channel)) {
        if (!isEncryptedEnvelope(payload)) {
          // A downgrade: a plaintext message where the channel demands encryption.
          return rejected("undecryptable", "plaintext payload on an encrypted channel");
        }
        return decryptPayload(key, payload.enc, channel).then(
          (text) => checkChannel(channel, decodeMessage(text)),
          (error: unknown) => {
            if (error instanceof DecryptError) return rejected("undecryptable", error.reason);
            return rejected("undecryptable", error instanceof Error ? error.message : String(error));
          },
        );
      }
      if (isEncryptedEnvelope(payload))
        return rejected("undecryptable", "encrypted payload, and no key for it");
      return checkChannel(channel, parseMessage(payload));
    },
  };
}

function rejected(reason: InboundRejection, detail: string): Decoded {
  return { ok: false, reason, detail };
}

function checkChannel(channel: string, parsed: ReturnType<typeof parseMessage>): Decoded {
  if (!parsed.ok) {
    const { path, reason } = parsed.error;
    return rejected("invalid", path === "" ? reason : `${path}: ${reason}`);
  }
  const message = parsed.value;
  if (!channelAccepts(channel, message.msg_type)) {
    return rejected("wrong_channel", `${message.msg_type} is not carried on ${channel}`);
  }
  return { ok: true, message };
}

// ---------------------------------------------------------------------------------------------

/**
 * Handles items strictly in arrival order, each once its value is ready. Synchronous for values
 * that are ready when they arrive and have nothing waiting ahead of them.
 */
export class InboundQueue<T> {
  readonly #handle: (value: T) => void;
  readonly #items: Array<T | Promise<T>> = [];
  #head = 0;
  #waiting = false;
  #draining = false;
  #idleWaiters: Array<() => void> = [];

  constructor(handle: (value: T) => void) {
    this.#handle = handle;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(value: T | Promise<T>): void {
    this.#items.push(value);
    if (!this.#waiting && !this.#draining) this.#drain();
  }

  /** Resolves once every item pushed so far has been handled. */
  whenIdle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #drain(): void {
    this.#draining = true;
    try {
      while (this.#head < this.#items.length) {
        const item = this.#items[this.#head]!;
        if (item instanceof Promise) {
          this.#waiting = true;
          item.then((value: T) => {
            this.#items[this.#head] = value;
            this.#waiting = false;
            this.#drain();
          });
          return;
        }
        this.#head++;
        this.#handle(item);
      }
      this.#items.length = 0;
      this.#head = 0;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    } finally {
      this.#draining = false;
    }
  }
}
