// Counter-based randomness: every draw is a pure function of its coordinates (seed, stream, and up
// to three integers), so any minute of any instrument can be computed alone, in any order, on any
// process, with the same result. No generator state exists anywhere in the simulator.

// Module-local aliases: global lookups (Math) are slow inside jest's vm sandbox, where the
// simulator also runs in-process for end-to-end tests.
const { imul, floor, sqrt, log, cos, PI } = Math;

const TWO_32 = 4_294_967_296;

function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function absorb(h: number, value: number): number {
  // Epoch milliseconds and instrument tokens exceed 32 bits: absorb both halves.
  const high = floor(value / TWO_32);
  const low = value - high * TWO_32;
  let k = imul(low >>> 0, 0xcc9e2d51);
  k = imul((k << 15) | (k >>> 17), 0x1b873593);
  h = fmix32((h ^ k) + 0xe6546b64);
  k = imul(high >>> 0, 0xcc9e2d51);
  k = imul((k << 15) | (k >>> 17), 0x1b873593);
  return fmix32((h ^ k) + 0x85ebca6b);
}

/** 32-bit hash of integer coordinates. */
export function hash(seed: number, stream: number, a: number, b = 0, c = 0): number {
  let h = fmix32((seed >>> 0) ^ imul(stream + 1, 0x9e3779b1));
  h = absorb(h, a);
  h = absorb(h, b);
  return absorb(h, c);
}

/** Uniform in [0, 1). */
export function uniform(seed: number, stream: number, a: number, b = 0, c = 0): number {
  return hash(seed, stream, a, b, c) / TWO_32;
}

/** Integer in [min, max], both inclusive. */
export function uniformInt(
  seed: number,
  stream: number,
  min: number,
  max: number,
  a: number,
  b = 0,
  c = 0,
): number {
  return min + floor(uniform(seed, stream, a, b, c) * (max - min + 1));
}

/** Standard normal (Box-Muller on two independent draws). */
export function normal(seed: number, stream: number, a: number, b = 0, c = 0): number {
  const u1 = (hash(seed, stream, a, b, c) + 1) / (TWO_32 + 1);
  const u2 = hash(seed ^ 0x5bd1e995, stream, a, b, c) / TWO_32;
  return sqrt(-2 * log(u1)) * cos(2 * PI * u2);
}

/**
 * Value noise with unit variance at the integer lattice points of `x`, linearly interpolated: a
 * continuous function of `x` whose increments over a lag of 1 have variance about 2/3.
 */
export function valueNoise(seed: number, stream: number, key: number, x: number): number {
  const i = floor(x);
  const f = x - i;
  // Uniform lattice values scaled to unit variance: much cheaper than normals, and a sum over
  // octaves is close to Gaussian anyway.
  const v0 = (hash(seed, stream, key, i) / TWO_32 - 0.5) * 3.4641016151377544;
  const v1 = (hash(seed, stream, key, i + 1) / TWO_32 - 0.5) * 3.4641016151377544;
  return v0 + (v1 - v0) * f;
}
