/**
 * An independent float64 implementation of the sampling loops, written from the algorithm in
 * docs/algorithm.md (not from the C++), for the closed-form fixture denoiser:
 *   text states  h[b, l, d] = sin(0.37 id + 0.11 d + 0.05 l)
 *   UNet         eps = 0.5 tanh(z) cos(0.001 t) + 0.1 z + mean(h_b) (1 + 0.1 channel)
 * Arrays are flat [B, C, H, W] Float64Arrays.
 */
export interface Scheduler {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'scaled_linear' | 'linear';
  setAlphaToOne: boolean;
  stepsOffset: number;
  predictionType: 'epsilon' | 'v_prediction';
}

export interface OracleItem {
  cond: number[]; // token ids of the prompt
  uncond: number[]; // token ids of the negative prompt
  guidance: number;
  mix: number;
}

export interface OracleRun {
  scheduler: Scheduler;
  shape: [number, number, number, number];
  items: OracleItem[];
  steps: number;
  executed: number;
  leapfrog: boolean;
  hiddenSize: number;
}

export function alphaBars(s: Scheduler): Float64Array {
  const T = s.numTrainTimesteps;
  const out = new Float64Array(T);
  let product = 1;
  for (let i = 0; i < T; i++) {
    const f = i / (T - 1);
    const beta =
      s.betaSchedule === 'scaled_linear'
        ? (Math.sqrt(s.betaStart) + f * (Math.sqrt(s.betaEnd) - Math.sqrt(s.betaStart))) ** 2
        : s.betaStart + f * (s.betaEnd - s.betaStart);
    product *= 1 - beta;
    out[i] = product;
  }
  return out;
}

function textMean(ids: number[], hiddenSize: number): number {
  let sum = 0;
  ids.forEach((id, l) => {
    for (let d = 0; d < hiddenSize; d++) sum += Math.sin(0.37 * id + 0.11 * d + 0.05 * l);
  });
  return sum / (ids.length * hiddenSize);
}

export function makeOracle(run: OracleRun) {
  const { scheduler, shape, items, steps, executed, leapfrog, hiddenSize } = run;
  const [B, C, H, W] = shape;
  const per = C * H * W;
  const abar = alphaBars(scheduler);
  const ratio = Math.floor(scheduler.numTrainTimesteps / steps);
  const abarFinal = scheduler.setAlphaToOne ? 1 : abar[0];
  const alphaBar = (t: number) => (t < 0 ? abarFinal : abar[t]);
  const timestep = (k: number) => (steps - 1 - k) * ratio + scheduler.stepsOffset;
  const stepT = (i: number) => timestep(steps - executed + i);
  const coefficients = (t: number) => {
    const a = Math.sqrt(alphaBar(t - ratio) / alphaBar(t));
    const b = Math.sqrt(1 - alphaBar(t - ratio)) - a * Math.sqrt(1 - alphaBar(t));
    return { a, b };
  };
  const means = items.map((item) => ({ cond: textMean(item.cond, hiddenSize), uncond: textMean(item.uncond, hiddenSize) }));

  const unet = (z: number, t: number, c: number, channel: number) =>
    0.5 * Math.tanh(z) * Math.cos(0.001 * t) + 0.1 * z + c * (1 + 0.1 * channel);

  function eps(z: Float64Array, t: number): Float64Array {
    const out = new Float64Array(z.length);
    for (let b = 0; b < B; b++) {
      const { guidance } = items[b];
      for (let j = 0; j < per; j++) {
        const i = b * per + j;
        const channel = Math.floor(j / (H * W));
        const ec = unet(z[i], t, means[b].cond, channel);
        let e = ec;
        if (items.some((item) => item.guidance !== 1)) {
          const eu = unet(z[i], t, means[b].uncond, channel);
          e = eu + guidance * (ec - eu);
        }
        if (scheduler.predictionType === 'v_prediction') {
          e = Math.sqrt(alphaBar(t)) * e + Math.sqrt(1 - alphaBar(t)) * z[i];
        }
        out[i] = e;
      }
    }
    return out;
  }

  interface Lvl {
    t: number;
    a: number;
    s: number;
  }
  const level = (k: number): Lvl => {
    const t = k >= 1 ? stepT(executed - k) : stepT(executed - 1) - ratio;
    return { t, a: Math.sqrt(alphaBar(t)), s: Math.sqrt(1 - alphaBar(t)) };
  };
  // The DDIM map from level k to level j, eps taken at level k.
  const ddimMap = (x: number, e: number, k: Lvl, j: Lvl) => (j.a / k.a) * x + (j.s - (k.s * j.a) / k.a) * e;
  const steps2 = (below: Lvl, at: Lvl, above: Lvl) => ({
    hk: at.s / at.a - below.s / below.a,
    hk1: above.s / above.a - at.s / at.a,
  });
  type Rule = (other: Float64Array, x: Float64Array, e: Float64Array, below: Lvl, at: Lvl, above: Lvl) => Float64Array;
  // Generation: from (x_n, x_{n-1}), or from x_n alone with a DDIM step first; returns x_0 and x_1.
  function twoStep(xn: Float64Array, xn1: Float64Array | null, down: Rule) {
    let upper = xn.slice();
    let lower: Float64Array;
    if (xn1) {
      lower = xn1.slice();
    } else {
      const e = eps(xn, level(executed).t);
      lower = xn.map((v, i) => ddimMap(v, e[i], level(executed), level(executed - 1)));
    }
    for (let k = executed - 1; k >= 1; k--) {
      const next = down(upper, lower, eps(lower, level(k).t), level(k - 1), level(k), level(k + 1));
      upper = lower;
      lower = next;
    }
    return { x: lower, y: upper };
  }
  // Inversion: x_1 from x_0 by DDIM inversion's step, then up to (x_n, x_{n-1}).
  function twoStepInvert(x0: Float64Array, up: Rule) {
    let previous = x0.slice();
    const e0 = eps(x0, level(1).t);
    let current = x0.map((v, i) => ddimMap(v, e0[i], level(0), level(1)));
    for (let k = 1; k <= executed - 1; k++) {
      const next = up(previous, current, eps(current, level(k).t), level(k - 1), level(k), level(k + 1));
      previous = current;
      current = next;
    }
    return { x: current, y: previous };
  }

  const step = (z: Float64Array, a: number, b: number, e: Float64Array) => z.map((v, i) => a * v + b * e[i]);
  const unstep = (z: Float64Array, a: number, b: number, e: Float64Array) => z.map((v, i) => (v - b * e[i]) / a);
  const mixOf = (i: number) => items[Math.floor(i / per)].mix;

  return {
    edictGenerate(x0: Float64Array, y0: Float64Array) {
      let x = x0.slice();
      let y = y0.slice();
      for (let i = 0; i < executed; i++) {
        const t = stepT(i);
        const { a, b } = coefficients(t);
        if (leapfrog && i % 2 === 1) {
          y = step(y, a, b, eps(x, t));
          x = step(x, a, b, eps(y, t));
        } else {
          x = step(x, a, b, eps(y, t));
          y = step(y, a, b, eps(x, t));
        }
        x = x.map((v, k) => mixOf(k) * v + (1 - mixOf(k)) * y[k]);
        y = y.map((v, k) => mixOf(k) * v + (1 - mixOf(k)) * x[k]);
      }
      return { x, y };
    },
    edictInvert(x0: Float64Array, y0: Float64Array) {
      let x = x0.slice();
      let y = y0.slice();
      for (let i = executed - 1; i >= 0; i--) {
        const t = stepT(i);
        const { a, b } = coefficients(t);
        y = y.map((v, k) => (v - (1 - mixOf(k)) * x[k]) / mixOf(k));
        x = x.map((v, k) => (v - (1 - mixOf(k)) * y[k]) / mixOf(k));
        if (leapfrog && i % 2 === 1) {
          x = unstep(x, a, b, eps(y, t));
          y = unstep(y, a, b, eps(x, t));
        } else {
          y = unstep(y, a, b, eps(x, t));
          x = unstep(x, a, b, eps(y, t));
        }
      }
      return { x, y };
    },
    ddimGenerate(z0: Float64Array) {
      let z = z0.slice();
      for (let i = 0; i < executed; i++) {
        const t = stepT(i);
        const { a, b } = coefficients(t);
        z = step(z, a, b, eps(z, t));
      }
      return z;
    },
    ddimInvert(z0: Float64Array) {
      let z = z0.slice();
      for (let i = executed - 1; i >= 0; i--) {
        const t = stepT(i);
        const { a, b } = coefficients(t);
        z = unstep(z, a, b, eps(z, t));
      }
      return z;
    },
    // BDIA and BELM (docs/algorithm.md): level k = 0 (clean) .. n (noisiest); level k >= 1 sits
    // at the timestep of executed step n - k, level 0 one stride below level 1.
    bdiaGenerate(xn: Float64Array, xn1: Float64Array | null, gamma: number) {
      return twoStep(xn, xn1, (upper, x, e, below, at, above) =>
        upper.map((u, i) => gamma * u - gamma * ddimMap(x[i], e[i], at, above) + ddimMap(x[i], e[i], at, below)),
      );
    },
    bdiaInvert(x0: Float64Array, gamma: number) {
      return twoStepInvert(x0, (lower, x, e, below, at, above) =>
        lower.map((l, i) => (l - ddimMap(x[i], e[i], at, below)) / gamma + ddimMap(x[i], e[i], at, above)),
      );
    },
    // BELM in xbar = x / a against lambda = s / a, as the paper writes it.
    belmGenerate(xn: Float64Array, xn1: Float64Array | null) {
      return twoStep(xn, xn1, (upper, x, e, below, at, above) => {
        const { hk, hk1 } = steps2(below, at, above);
        return upper.map((u, i) => {
          const xbar = (hk ** 2 / hk1 ** 2) * (u / above.a) + ((hk1 ** 2 - hk ** 2) / hk1 ** 2) * (x[i] / at.a) - ((hk * (hk + hk1)) / hk1) * e[i];
          return below.a * xbar;
        });
      });
    },
    belmInvert(x0: Float64Array) {
      return twoStepInvert(x0, (lower, x, e, below, at, above) => {
        const { hk, hk1 } = steps2(below, at, above);
        return lower.map((l, i) => {
          const xbar = (l / below.a - ((hk1 ** 2 - hk ** 2) / hk1 ** 2) * (x[i] / at.a) + ((hk * (hk + hk1)) / hk1) * e[i]) * (hk1 ** 2 / hk ** 2);
          return above.a * xbar;
        });
      });
    },
    noiseToStart(z0: Float64Array, noise: Float64Array) {
      const ab = alphaBar(stepT(0));
      return z0.map((v, i) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * noise[i]);
    },
  };
}

/** max |a - b| / max(1, max |b|): absolute error for values of order one, relative beyond. */
export function scaledError(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
