/**
 * How a Transport payload travels through PubNub. The SDK refuses falsy messages (`0`, `""`,
 * `false`, `null`: "Validation failed", research §5.2), so every payload is wrapped in an
 * object, `{"p": payload}`. A message without that shape (published by some other PubNub
 * client) is delivered as it is.
 */

/** The wrapper's own bytes: `{"p":` and `}`. */
export const ENVELOPE_OVERHEAD_BYTES = 6;

export interface WrappedPayload {
  readonly p: unknown;
}

export function wrapPayload(payload: unknown): WrappedPayload {
  return { p: payload };
}

export function unwrapPayload(message: unknown): unknown {
  if (message !== null && typeof message === "object" && !Array.isArray(message)) {
    const keys = Object.keys(message);
    if (keys.length === 1 && keys[0] === "p") return (message as WrappedPayload).p;
  }
  return message;
}

/** UTF-8 length of a string without allocating a buffer. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
