/**
 * Texts already known for messages, so `encodeMessage` does not serialize a message twice.
 * `stateToChunks` must stringify every item of a reconciliation response anyway, to measure it
 * against the message limit; it assembles each chunk's text from those pieces and leaves it
 * here, and the responder's encode (for encryption, or the wire) then costs nothing. Keyed
 * weakly by the message object: messages are immutable values (every field `readonly`), and an
 * entry lives only as long as its message. Internal to crdt-core: never exported.
 */
import type { Message } from "./index.js";

const TEXTS = new WeakMap<Message, string>();

/** Records `text`, which must equal `JSON.stringify(message)`, as `message`'s encoding. */
export function rememberEncoding(message: Message, text: string): void {
  TEXTS.set(message, text);
}

/** The text recorded for `message`, if any. */
export function rememberedEncoding(message: Message): string | undefined {
  return TEXTS.get(message);
}
