// Seeded, serialisable random numbers. Every random choice in a run (initialisation, sampling,
// augmentation) draws from an Rng derived from (seed, purpose, epoch, ...), so a resumed run
// makes exactly the choices an uninterrupted one would, without storing generator streams.

/** Mixes any number of integers into one 32-bit seed (splitmix-style finaliser per value). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let x = (Math.trunc(part) ^ h) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    h = (x ^ (x >>> 16) ^ Math.imul(h, 31)) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for shuffling and augmentation; its whole state is one uint32. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  static derive(...parts: number[]): Rng {
    return new Rng(deriveSeed(...parts));
  }

  /** The generator's state, to store in a checkpoint. */
  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller from two uniform draws; 1 - next() keeps the logarithm's argument in (0, 1]). */
  gaussian(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}
