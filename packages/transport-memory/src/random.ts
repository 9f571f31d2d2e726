/**
 * The network's source of randomness: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
 * 128-bit state, passes PractRand), seeded through splitmix32 as its author recommends.
 *
 * Written here rather than taken from a package because a recorded seed must replay the same
 * trace for ever: a dependency update that changed the sequence would silently invalidate every
 * seed in a bug report, and this package's only runtime dependency is `@mg-sync/crdt-core`.
 * `test/random.test.ts` pins the first outputs, so a change here fails loudly.
 */
import type { Random } from "@mg-sync/crdt-core";

const TWO_POW_32 = 4_294_967_296;

/** splitmix32: spreads a 32-bit seed over the four words of sfc32's state. */
function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let t = state ^ (state >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** FNV-1a over UTF-16 code units: names a sub-stream (a client id) inside one seed. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A uniform generator in [0, 1) determined by `seed` (any safe integer) and `stream` (a name
 * that gives an independent sequence under the same seed, e.g. one per client).
 */
export function seededRandom(seed: number, stream = ""): Random {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
  const low = seed % TWO_POW_32;
  const high = Math.floor(seed / TWO_POW_32);
  const mix = splitmix32(low ^ Math.imul(high | 0, 0x5bd1e995) ^ hashString(stream));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const next: Random = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / TWO_POW_32;
  };
  // The author's warm-up: the first outputs of a freshly seeded state are poorly mixed.
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** An integer uniform in [min, max] (both inclusive integers). */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
