/**
 * Latents: what inversion produces and generation continues from. EDICT keeps a pair (x, y);
 * DDIM and encoded latents have x === y. The parameters needed to continue travel with them,
 * and they save to .safetensors (F64 tensors "x" and "y", parameters as JSON in the metadata)
 * so Python can read them too.
 */
import { z } from 'zod';

import { EdictError, ErrorCode } from './errors.js';
import { writeFileAtomic } from './files.js';
import { describeIssue } from './manifest.js';
import { gamma, guidance, mix, seed, steps, strength } from './options.js';
import { provenanceSchema } from './provenance.js';
import { decodeSafeTensors, encodeSafeTensors, readSafeTensorsFile } from './safetensors.js';

export type LatentShape = [batch: number, channels: number, height: number, width: number];

// The ranges are the options' (src/options.ts): latents a file or a caller hands in must be
// latents the API could have made, checked when they are made, not deep in the addon.
const paramsSchema = z.object({
  /** The model (manifest name) that made them. */
  model: z.string(),
  /** That model's fingerprint (src/fingerprint.ts); absent in latents built by hand or saved before edict recorded it. */
  modelFingerprint: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex digits').optional(),
  /** encoded: scaled VAE latents; inverted: ready for generate(); generated: a result; noise: a sampling start. */
  stage: z.enum(['encoded', 'inverted', 'generated', 'noise']),
  method: z.enum(['edict', 'ddim', 'sdedit', 'bdia', 'belm']).nullable(),
  /** What made inverted latents (src/provenance.ts); absent in latents built by hand or older files. */
  provenance: provenanceSchema.optional(),
  /** BDIA's gamma (absent for the other methods). */
  gamma: gamma.optional(),
  /** Per item (or one for all): the prompt used (source prompt for inverted, target for generated). */
  prompts: z.array(z.string()),
  negativePrompts: z.array(z.string()),
  steps,
  strength,
  /** How many of the schedule's last steps the loop runs: floor(steps * strength); 0 for encoded latents. */
  executed: z.number().int('must be an integer'),
  guidance: z.array(guidance),
  mix: z.array(mix),
  leapfrog: z.boolean(),
  imageWidth: z.number().int().positive(),
  imageHeight: z.number().int().positive(),
  seed: seed.nullable(),
});

const dim = z.number().int('must be an integer').positive('must be > 0');

/** Shape and params together: the rules that relate them (executed to steps, list lengths to the batch). */
const latentsSchema = z.object({ shape: z.tuple([dim, dim, dim, dim]), params: paramsSchema }).superRefine(({ shape, params }, ctx) => {
  const encoded = params.stage === 'encoded';
  const least = encoded ? 0 : 1;
  if (params.executed < least || params.executed > params.steps) {
    ctx.addIssue({ code: 'custom', path: ['params', 'executed'], message: `must be in [${least}, steps = ${params.steps}] for stage ${params.stage}` });
  }
  const batch = shape[0];
  for (const key of ['prompts', 'negativePrompts', 'guidance', 'mix'] as const) {
    const n = params[key].length;
    if (n !== batch && n !== 1 && !(encoded && n === 0)) {
      ctx.addIssue({ code: 'custom', path: ['params', key], message: `must have one value per item (${batch}) or one for all${encoded ? ' (or none)' : ''}, has ${n}` });
    }
  }
});

/** Checks shape and params (one schema for constructed latents and files), or throws `code`. */
function check(shape: unknown, params: unknown, what: string, code: ErrorCode): { shape: LatentShape; params: LatentParams } {
  const input = { shape, params };
  const result = latentsSchema.safeParse(input);
  if (!result.success) throw new EdictError(code, `${what}: ${result.error.issues.map((i) => describeIssue(i, input)).join('; ')}`);
  return result.data;
}

export type LatentParams = z.infer<typeof paramsSchema>;

export const LATENTS_FORMAT = 'edict-latents';

export class Latents {
  readonly shape: LatentShape;
  readonly params: LatentParams;

  /** Throws ERR_INVALID_ARGUMENT for a shape or params a latents file could not carry either. */
  constructor(
    readonly x: Float64Array,
    readonly y: Float64Array,
    shape: LatentShape,
    params: LatentParams,
  ) {
    ({ shape: this.shape, params: this.params } = check(shape, params, 'latents', ErrorCode.InvalidArgument));
    if (!(x instanceof Float64Array) || !(y instanceof Float64Array)) {
      throw new EdictError(ErrorCode.InvalidArgument, `latents: x and y must be Float64Arrays, got ${x?.constructor?.name ?? x} and ${y?.constructor?.name ?? y}`);
    }
    const count = this.shape.reduce((a, b) => a * b, 1);
    if (x.length !== count || y.length !== count) {
      throw new EdictError(ErrorCode.InvalidArgument, `latents: shape [${shape}] needs ${count} values, x has ${x.length}, y has ${y.length}`);
    }
  }

  get batch(): number {
    return this.shape[0];
  }

  /** Item i of a batch, as a batch of one. */
  item(i: number): Latents {
    if (!Number.isInteger(i) || i < 0 || i >= this.batch) {
      throw new EdictError(ErrorCode.InvalidArgument, `latents item ${i} out of range [0, ${this.batch})`);
    }
    const size = this.x.length / this.batch;
    const pick = <T>(list: T[]) => (list.length === this.batch ? [list[i]] : list);
    return new Latents(
      this.x.slice(i * size, (i + 1) * size),
      this.y.slice(i * size, (i + 1) * size),
      [1, this.shape[1], this.shape[2], this.shape[3]],
      {
        ...this.params,
        prompts: pick(this.params.prompts),
        negativePrompts: pick(this.params.negativePrompts),
        guidance: pick(this.params.guidance),
        mix: pick(this.params.mix),
      },
    );
  }

  /** The same latents repeated `times` times along the batch. */
  repeat(times: number): Latents {
    if (!Number.isInteger(times) || times < 1) throw new EdictError(ErrorCode.InvalidArgument, `latents.repeat: times must be an integer >= 1, got ${times}`);
    if (times === 1) return this;
    const tile = (data: Float64Array) => {
      const out = new Float64Array(data.length * times);
      for (let k = 0; k < times; k++) out.set(data, k * data.length);
      return out;
    };
    // Per-item lists are tiled; a one-value (or empty) list already stands for every item.
    const tileList = <T>(list: T[]) => (list.length === this.batch ? Array.from({ length: times }, () => list).flat() : list);
    return new Latents(tile(this.x), tile(this.y), [this.shape[0] * times, this.shape[1], this.shape[2], this.shape[3]], {
      ...this.params,
      prompts: tileList(this.params.prompts),
      negativePrompts: tileList(this.params.negativePrompts),
      guidance: tileList(this.params.guidance),
      mix: tileList(this.params.mix),
    });
  }

  /**
   * Several latents as one batch (same shape per item and same loop settings: steps,
   * strength, method, leapfrog), e.g. to generate many inverted images in one call.
   */
  static concat(parts: Latents[]): Latents {
    if (!Array.isArray(parts) || !parts.every((p) => p instanceof Latents)) throw new EdictError(ErrorCode.InvalidArgument, 'Latents.concat: expected a list of Latents');
    if (parts.length === 0) throw new EdictError(ErrorCode.InvalidArgument, 'Latents.concat: nothing to concatenate');
    const [first] = parts;
    const key = (l: Latents) =>
      JSON.stringify([l.shape.slice(1), l.params.stage, l.params.method, l.params.steps, l.params.executed, l.params.leapfrog, l.params.modelFingerprint ?? null]);
    if (parts.some((p) => key(p) !== key(first))) {
      throw new EdictError(ErrorCode.InvalidArgument, 'Latents.concat: parts differ in item shape, stage, method, steps, strength, leapfrog or model');
    }
    const join = (pick: (l: Latents) => Float64Array) => {
      const out = new Float64Array(parts.reduce((n, p) => n + p.x.length, 0));
      let offset = 0;
      for (const p of parts) {
        out.set(pick(p), offset);
        offset += p.x.length;
      }
      return out;
    };
    const batch = parts.reduce((n, p) => n + p.batch, 0);
    // Per-item lists stay per item; a one-value list stands for its whole part; empty stays empty.
    const perItem = <T>(pick: (l: Latents) => T[]) =>
      parts.flatMap((p) => {
        const values = pick(p);
        return values.length === p.batch || values.length === 0 ? values : Array.from({ length: p.batch }, () => values[0]);
      });
    return new Latents(join((l) => l.x), join((l) => l.y), [batch, first.shape[1], first.shape[2], first.shape[3]], {
      ...first.params,
      prompts: perItem((l) => l.params.prompts),
      negativePrompts: perItem((l) => l.params.negativePrompts),
      guidance: perItem((l) => l.params.guidance),
      mix: perItem((l) => l.params.mix),
    });
  }

  toSafeTensors(): Buffer {
    return encodeSafeTensors({
      tensors: {
        x: { dtype: 'F64', shape: [...this.shape], data: this.x },
        y: { dtype: 'F64', shape: [...this.shape], data: this.y },
      },
      metadata: { format: LATENTS_FORMAT, version: '1', params: JSON.stringify(this.params) },
    });
  }

  static fromSafeTensors(bytes: Buffer, source = 'latents'): Latents {
    if (!Buffer.isBuffer(bytes)) throw new EdictError(ErrorCode.LatentsFile, `${source}: expected the file's bytes as a Buffer, got ${bytes === null ? 'null' : typeof bytes}`);
    const file = decodeSafeTensors(bytes);
    const fail = (message: string): never => {
      throw new EdictError(ErrorCode.LatentsFile, `${source}: ${message}`);
    };
    if (file.metadata.format !== LATENTS_FORMAT) fail(`not an edict latents file (metadata format is ${JSON.stringify(file.metadata.format)})`);
    const { x, y } = file.tensors;
    if (!x) fail('no tensor "x"');
    const yy = y ?? x;
    if (x.shape.length !== 4 || yy.shape.join() !== x.shape.join()) fail(`x and y must both be [B, C, h, w], got [${x.shape}] and [${yy.shape}]`);
    let params: unknown;
    try {
      params = JSON.parse(file.metadata.params ?? '');
    } catch {
      fail('metadata "params" is not JSON');
    }
    const checked = check(x.shape, params, source, ErrorCode.LatentsFile);
    return new Latents(Float64Array.from(x.data), Float64Array.from(yy.data), checked.shape, checked.params);
  }

  /**
   * Writes by the package's write policy (src/files.ts): a temporary name then a rename, so a
   * crash never leaves half a file; through to a device or FIFO; at a symlink's target.
   */
  async save(path: string): Promise<void> {
    await writeFileAtomic(path, this.toSafeTensors());
  }

  /** Reads a latents file (a regular file only; the header length is bounded before reading). */
  static async load(path: string): Promise<Latents> {
    return Latents.fromSafeTensors(await readSafeTensorsFile(path), path);
  }
}
