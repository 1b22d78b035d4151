// Exact t-SNE (van der Maaten & Hinton 2008) for the few hundred test embeddings a report shows.
// Written here rather than taken from npm because the maintained packages (tsne-js, @keckelt/tsne)
// draw their initialisation from Math.random; this one draws from the run's seeded Rng, so the same
// embeddings and seed give the same picture. O(N^2) per iteration: meant for N up to ~1,000.
import { Rng } from '../util/rng';

export interface TsneOptions {
  /** Effective number of neighbours; clipped to (N - 1) / 3 for small N. */
  perplexity?: number;
  iterations?: number;
  learningRate?: number;
  /** Multiplies P during the first `exaggerationIterations` iterations to form tight clusters early. */
  earlyExaggeration?: number;
  exaggerationIterations?: number;
  seed?: number;
}

export const TSNE_DEFAULTS = {
  perplexity: 30,
  iterations: 500,
  learningRate: 100,
  earlyExaggeration: 12,
  exaggerationIterations: 100,
  seed: 0,
} as const;

function squaredDistances(data: ArrayLike<number>, n: number, dim: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const diff = (data[i * dim + k] as number) - (data[j * dim + k] as number);
        s += diff * diff;
      }
      d[i * n + j] = s;
      d[j * n + i] = s;
    }
  }
  return d;
}

/**
 * Row-conditional probabilities p(j|i) whose entropy is log(perplexity), by binary search on the
 * Gaussian precision beta of each row. Exported for tests.
 */
export function conditionalProbabilities(dist2: Float64Array, n: number, perplexity: number): Float64Array {
  const p = new Float64Array(n * n);
  const target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    for (let iter = 0; iter < 60; iter++) {
      // Subtracting the row's smallest distance keeps exp() from underflowing for far-apart points.
      let minD = Infinity;
      for (let j = 0; j < n; j++) if (j !== i && (dist2[i * n + j] as number) < minD) minD = dist2[i * n + j] as number;
      let sum = 0;
      let weighted = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) {
          p[i * n + j] = 0;
          continue;
        }
        const dj = (dist2[i * n + j] as number) - minD;
        const w = Math.exp(-dj * beta);
        p[i * n + j] = w;
        sum += w;
        weighted += dj * w;
      }
      // Entropy of the normalised row: H = log(sum) + beta * E[d].
      const entropy = Math.log(sum) + (beta * weighted) / sum;
      for (let j = 0; j < n; j++) p[i * n + j] = (p[i * n + j] as number) / sum;
      const diff = entropy - target;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return p;
}

/**
 * Embeds n points of `dim` values each (row-major) into 2-D. Returns n*2 coordinates (x0, y0, x1, ...).
 */
export function tsne(data: ArrayLike<number>, dim: number, options: TsneOptions = {}): Float64Array {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`tsne: dim must be a positive integer, got ${dim}`);
  if (data.length % dim !== 0) {
    throw new Error(`tsne: ${data.length} values are not a whole number of ${dim}-dimensional rows`);
  }
  const n = data.length / dim;
  // Options passed through from JSON may be present but undefined: they must not erase the defaults.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o: Required<TsneOptions> = { ...TSNE_DEFAULTS, ...given };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isFinite(v)) throw new Error(`tsne: option ${k} must be a finite number, got ${v}`);
  }
  const out = new Float64Array(n * 2);
  if (n < 2) return out;
  if (n < 4) {
    // Too few points for a neighbourhood: spread them on a line in input order.
    for (let i = 0; i < n; i++) out[i * 2] = i;
    return out;
  }
  const perplexity = Math.max(1, Math.min(o.perplexity, (n - 1) / 3));

  const cond = conditionalProbabilities(squaredDistances(data, n, dim), n, perplexity);
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      P[i * n + j] = Math.max(((cond[i * n + j] as number) + (cond[j * n + i] as number)) / (2 * n), 1e-12);
    }
  }

  const rng = new Rng(o.seed);
  const Y = new Float64Array(n * 2);
  for (let k = 0; k < n * 2; k++) Y[k] = rng.gaussian() * 1e-4;
  const velocity = new Float64Array(n * 2);
  const gains = new Float64Array(n * 2).fill(1);
  const num = new Float64Array(n * n);
  const grad = new Float64Array(n * 2);

  for (let iter = 0; iter < o.iterations; iter++) {
    const exaggeration = iter < o.exaggerationIterations ? o.earlyExaggeration : 1;
    const momentum = iter < 250 ? 0.5 : 0.8;

    // Student-t affinities in the embedding.
    let sumNum = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = (Y[i * 2] as number) - (Y[j * 2] as number);
        const dy = (Y[i * 2 + 1] as number) - (Y[j * 2 + 1] as number);
        const q = 1 / (1 + dx * dx + dy * dy);
        num[i * n + j] = q;
        num[j * n + i] = q;
        sumNum += 2 * q;
      }
    }

    grad.fill(0);
    for (let i = 0; i < n; i++) {
      let gx = 0;
      let gy = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const q = num[i * n + j] as number;
        const mult = (exaggeration * (P[i * n + j] as number) - Math.max(q / sumNum, 1e-12)) * q;
        gx += mult * ((Y[i * 2] as number) - (Y[j * 2] as number));
        gy += mult * ((Y[i * 2 + 1] as number) - (Y[j * 2 + 1] as number));
      }
      grad[i * 2] = 4 * gx;
      grad[i * 2 + 1] = 4 * gy;
    }

    // Gradient descent with momentum and per-coordinate adaptive gains (as in the original paper's code).
    let meanX = 0;
    let meanY = 0;
    for (let k = 0; k < n * 2; k++) {
      const g = grad[k] as number;
      const v = velocity[k] as number;
      const gain = Math.sign(g) !== Math.sign(v) ? (gains[k] as number) + 0.2 : (gains[k] as number) * 0.8;
      gains[k] = Math.max(gain, 0.01);
      velocity[k] = momentum * v - o.learningRate * (gains[k] as number) * g;
      Y[k] = (Y[k] as number) + (velocity[k] as number);
      if (k % 2 === 0) meanX += Y[k] as number;
      else meanY += Y[k] as number;
    }
    meanX /= n;
    meanY /= n;
    for (let i = 0; i < n; i++) {
      Y[i * 2] = (Y[i * 2] as number) - meanX;
      Y[i * 2 + 1] = (Y[i * 2 + 1] as number) - meanY;
    }
  }
  out.set(Y);
  return out;
}
