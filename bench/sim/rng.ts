/**
 * Seeded pseudo-random numbers for the simulator and the trace generator. Everything random in a
 * simulation comes from here, so a seed reproduces a run exactly.
 *
 * The generator is SplitMix32 (a 32-bit variant of Steele, Lea and Flood's SplitMix): a Weyl
 * sequence through an avalanching mixer. It is small, fast, has no bad seeds, and `derive` gives
 * independent streams keyed by (seed, stream, index), which the simulator uses for common random
 * numbers: the k-th instance launched gets the same boot time under every policy.
 */

const GOLDEN = 0x9e3779b9;

function mix32(value: number): number {
  let z = value | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Hashes a seed and any number of integer keys into a new 32-bit seed. */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = mix32(seed ^ 0x5bd1e995);
  for (const key of keys) h = mix32(h + Math.imul(key | 0, GOLDEN) + 1);
  return h;
}

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = deriveSeed(seed) | 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + GOLDEN) | 0;
    return mix32(this.state) / 2 ** 32;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Integer uniform in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Exponential with the given mean (inter-arrival time of a Poisson process). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Log-normal with the given median and multiplicative spread (sigma of the underlying normal). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }
}
