/**
 * The network's record of what happened, one line per event, in virtual-time order. Two runs with
 * the same seed and the same operations produce the same lines, byte for byte; the digest lets a
 * long simulation compare runs without keeping every line.
 */
export class TraceLog {
  private readonly kept: string[] | undefined;
  private h1 = 0xdeadbeef;
  private h2 = 0x41c6ce57;
  private count = 0;

  constructor(keepLines: boolean) {
    this.kept = keepLines ? [] : undefined;
  }

  record(line: string): void {
    this.count++;
    if (this.kept !== undefined) this.kept.push(line);
    // cyrb53's mixing, continued across lines (with a newline between them).
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i <= line.length; i++) {
      const code = i === line.length ? 10 : line.charCodeAt(i);
      h1 = Math.imul(h1 ^ code, 2654435761);
      h2 = Math.imul(h2 ^ code, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  /** Every line so far (empty when the network was made with `recordTrace: false`). */
  lines(): readonly string[] {
    return this.kept === undefined ? [] : this.kept.slice();
  }

  /** A 53-bit hash of every line so far and their count, as 14 hex digits. */
  digest(): string {
    let h1 = this.h1;
    let h2 = this.h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    h1 ^= this.count;
    const value = 4_294_967_296 * (2_097_151 & h2) + (h1 >>> 0);
    return value.toString(16).padStart(14, "0");
  }
}
