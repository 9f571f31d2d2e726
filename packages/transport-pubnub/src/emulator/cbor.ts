/**
 * The subset of CBOR (RFC 8949) that Access Manager v3 tokens use (research §5.14): maps with
 * text keys, unsigned and negative integers, text and byte strings, arrays, booleans, null and
 * float64. Enough to mint tokens the SDK's `parseToken` reads, and to read them back.
 */

export type CborValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | readonly CborValue[]
  | { readonly [key: string]: CborValue };

class Writer {
  bytes: number[] = [];

  head(major: number, length: number): void {
    const m = major << 5;
    if (length < 24) this.bytes.push(m | length);
    else if (length < 0x100) this.bytes.push(m | 24, length);
    else if (length < 0x10000) this.bytes.push(m | 25, length >> 8, length & 0xff);
    else if (length < 0x1_0000_0000)
      this.bytes.push(
        m | 26,
        (length >>> 24) & 0xff,
        (length >>> 16) & 0xff,
        (length >>> 8) & 0xff,
        length & 0xff,
      );
    else {
      const big = BigInt(length);
      this.bytes.push(m | 27);
      for (let shift = 56n; shift >= 0n; shift -= 8n) this.bytes.push(Number((big >> shift) & 0xffn));
    }
  }

  value(v: CborValue): void {
    if (v === null) this.bytes.push(0xf6);
    else if (v === true) this.bytes.push(0xf5);
    else if (v === false) this.bytes.push(0xf4);
    else if (typeof v === "number") {
      if (Number.isSafeInteger(v)) {
        if (v >= 0) this.head(0, v);
        else this.head(1, -1 - v);
      } else {
        const view = new DataView(new ArrayBuffer(8));
        view.setFloat64(0, v);
        this.bytes.push(0xfb, ...new Uint8Array(view.buffer));
      }
    } else if (typeof v === "string") {
      const utf8 = new TextEncoder().encode(v);
      this.head(3, utf8.length);
      for (const b of utf8) this.bytes.push(b);
    } else if (v instanceof Uint8Array) {
      this.head(2, v.length);
      for (const b of v) this.bytes.push(b);
    } else if (Array.isArray(v)) {
      this.head(4, v.length);
      for (const item of v as readonly CborValue[]) this.value(item);
    } else {
      const entries = Object.entries(v as { readonly [key: string]: CborValue });
      this.head(5, entries.length);
      for (const [key, item] of entries) {
        this.value(key);
        this.value(item);
      }
    }
  }
}

export function cborEncode(value: CborValue): Uint8Array {
  const writer = new Writer();
  writer.value(value);
  return Uint8Array.from(writer.bytes);
}

/** Decodes one CBOR item; `undefined` for anything malformed, truncated or outside the subset. */
export function cborDecode(bytes: Uint8Array): CborValue | undefined {
  let offset = 0;
  const fail = Symbol("fail");

  const length = (info: number): number | typeof fail => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0 || offset + size > bytes.length) return fail;
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[offset + i]!;
    offset += size;
    return Number.isSafeInteger(n) ? n : fail;
  };

  const item = (depth: number): CborValue | typeof fail => {
    if (depth > 32 || offset >= bytes.length) return fail;
    const initial = bytes[offset++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 27 && offset + 8 <= bytes.length) {
        const value = new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getFloat64(0);
        offset += 8;
        return value;
      }
      return fail;
    }
    const n = length(info);
    if (n === fail) return fail;
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
      case 3: {
        if (offset + n > bytes.length) return fail;
        const slice = bytes.slice(offset, offset + n);
        offset += n;
        if (major === 2) return slice;
        try {
          return new TextDecoder("utf-8", { fatal: true }).decode(slice);
        } catch {
          return fail;
        }
      }
      case 4: {
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) {
          const v = item(depth + 1);
          if (v === fail) return fail;
          out.push(v);
        }
        return out;
      }
      case 5: {
        const out: Record<string, CborValue> = {};
        for (let i = 0; i < n; i++) {
          const key = item(depth + 1);
          if (typeof key !== "string") return fail;
          const v = item(depth + 1);
          if (v === fail) return fail;
          Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      default:
        return fail;
    }
  };

  const value = item(0);
  return value === fail || offset !== bytes.length ? undefined : value;
}
