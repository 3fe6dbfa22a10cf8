// Every rejection of the public API is an EdictError with a code from ErrorCode: each public
// method is called with a table of bad inputs (nulls, wrong types, unknown option keys). Unknown
// keys are refused with the nearest known one, as the CLI does.
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Edict, EdictError, ErrorCode, gaussianNoise, Latents, loadManifest, TorchModule } from '../src/index.js';
import { editDistance, nearest } from '../src/suggest.js';
import { tinyModel } from './helpers/fixtures.js';
import { scenePng } from './helpers/images.js';

const codes = new Set<string>(Object.values(ErrorCode));

let edict: Edict;
let image: Buffer;
let inverted: Latents;
beforeAll(async () => {
  edict = await Edict.load(tinyModel);
  image = await scenePng();
  inverted = await edict.invert(image, { prompt: 'a red square', steps: 2 });
});
afterAll(() => edict.dispose());

/** The error a call throws or rejects with (synchronous throws included). */
async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return null;
}

/** A latents file's bytes with its header edited. */
function withHeader(edit: (header: Record<string, unknown>) => void): Buffer {
  const bytes = inverted.toSafeTensors();
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, json, bytes.subarray(8 + length)]);
}

const prompt = { prompt: 'a red square' };
const edit = { source: 'a red square', target: 'a blue square', steps: 2 };
const model = () => join(tinyModel, 'unet.pt');

const table: [string, () => unknown][] = [
  ['Edict.load(null)', () => Edict.load(null as never)],
  ['Edict.load(5)', () => Edict.load(5 as never)],
  ['Edict.load({})', () => Edict.load({} as never)],
  ['Edict.load options null', () => Edict.load(tinyModel, null as never)],
  ['Edict.load options "x"', () => Edict.load(tinyModel, 'x' as never)],
  ['Edict.load { thread: 2 }', () => Edict.load(tinyModel, { thread: 2 } as never)],
  ['Edict.load { device: 5 }', () => Edict.load(tinyModel, { device: 5 } as never)],
  ['Edict.load { onWarning: 5 }', () => Edict.load(tinyModel, { onWarning: 5 } as never)],
  ['edit options null', () => edict.edit(image, null as never)],
  ['edit options []', () => edict.edit(image, [] as never)],
  ['edit { stepz: 5 }', () => edict.edit(image, { ...edit, stepz: 5 } as never)],
  ['edit { signal: "abc" }', () => edict.edit(image, { ...edit, signal: 'abc' } as never)],
  ['edit { onWarning: 5 }', () => edict.edit(image, { ...edit, onWarning: 5 } as never)],
  ['edit { onProgress: "x" }', () => edict.edit(image, { ...edit, onProgress: 'x' } as never)],
  ['edit image null', () => edict.edit(null as never, edit)],
  ['invert options null', () => edict.invert(image, null as never)],
  ['invert { promt }', () => edict.invert(image, { promt: 'a' } as never)],
  ['invert { signal: "abc" }', () => edict.invert(image, { ...prompt, signal: 'abc' } as never)],
  ['generate latents null', () => edict.generate(null as never, prompt)],
  ['generate options null', () => edict.generate(inverted, null as never)],
  ['generate { which: "x" }', () => edict.generate(inverted, { ...prompt, which: 'x' } as never)],
  ['generate { onWarning: 5 }', () => edict.generate(inverted, { ...prompt, onWarning: 5 } as never)],
  ['reconstruct options null', () => edict.reconstruct(image, null as never)],
  ['reconstruct { method: "sdedit" }', () => edict.reconstruct(image, { ...prompt, method: 'sdedit' } as never)],
  ['sample options null', () => edict.sample(null as never)],
  ['sample { size: { width, height, depth } }', () => edict.sample({ ...prompt, size: { width: 32, height: 32, depth: 3 } } as never)],
  ['encodeImage options null', () => edict.encodeImage(image, null as never)],
  ['encodeImage { which: "x" }', () => edict.encodeImage(image, { which: 'x' } as never)],
  ['encodeImage { signal: "abc" }', () => edict.encodeImage(image, { signal: 'abc' } as never)],
  ['decodeLatents options null', () => edict.decodeLatents(inverted, null as never)],
  ['decodeLatents { which: "z" }', () => edict.decodeLatents(inverted, { which: 'z' } as never)],
  ['decodeLatents { whch: "y" }', () => edict.decodeLatents(inverted, { whch: 'y' } as never)],
  ['decodeLatents 5', () => edict.decodeLatents(5 as never)],
  ['encodePrompt options null', () => edict.encodePrompt('a', null as never)],
  ['encodePrompt { signal: "abc" }', () => edict.encodePrompt('a', { signal: 'abc' } as never)],
  ['encodePrompt { onWarning: 5 }', () => edict.encodePrompt('a', { onWarning: 5 } as never)],
  ['encodePrompt 5', () => edict.encodePrompt(5 as never)],
  ['new Latents with null params', () => new Latents(inverted.x, inverted.y, inverted.shape, null as never)],
  ['new Latents with x null', () => new Latents(null as never, inverted.y, inverted.shape, inverted.params)],
  ['Latents.concat(null)', () => Latents.concat(null as never)],
  ['Latents.concat([5])', () => Latents.concat([5] as never)],
  ['latents.repeat(1.5)', () => inverted.repeat(1.5)],
  ['latents.item("x")', () => inverted.item('x' as never)],
  ['Latents.load(5)', () => Latents.load(5 as never)],
  ['Latents.fromSafeTensors(5)', () => Latents.fromSafeTensors(5 as never)],
  ['a latents header with "x": null', () => Latents.fromSafeTensors(withHeader((h) => (h.x = null)))],
  ['a latents header with "__metadata__": null', () => Latents.fromSafeTensors(withHeader((h) => (h.__metadata__ = null)))],
  ['latents params that are JSON null', () => Latents.fromSafeTensors(withHeader((h) => ((h.__metadata__ as Record<string, string>).params = 'null')))],
  ['gaussianNoise("x", 0)', () => gaussianNoise('x' as never, 0)],
  ['gaussianNoise([2], "x")', () => gaussianNoise([2], 'x' as never)],
  ['loadManifest(5)', () => loadManifest(5 as never)],
  ['TorchModule.load(5)', () => TorchModule.load(5 as never)],
  ['TorchModule.load options null', () => TorchModule.load(model(), null as never)],
  ['TorchModule.load { thread: 1 }', () => TorchModule.load(model(), { thread: 1 } as never)],
];

describe('every rejection is an EdictError with a known code', () => {
  it.each(table)('%s', async (_, call) => {
    const error = await errorOf(call);
    expect(error).toBeInstanceOf(EdictError);
    expect(codes.has((error as EdictError).code)).toBe(true);
  });

  it('a model folder that is not a string is ERR_INVALID_OPTION, saying what was given', async () => {
    const error = (await errorOf(() => Edict.load(null as never))) as EdictError;
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toMatch(/model folder must be a path .*got null/);
  });

  it('a latents header with "x": null is ERR_LATENTS_FILE', async () => {
    const error = (await errorOf(() => Latents.fromSafeTensors(withHeader((h) => (h.x = null))))) as EdictError;
    expect(error.code).toBe('ERR_LATENTS_FILE');
  });
});

describe('unknown option keys', () => {
  it.each<[string, () => unknown, string]>([
    ['Edict.load { thread }', () => Edict.load(tinyModel, { thread: 2 } as never), 'Edict.load: unknown option "thread" (did you mean "threads"?)'],
    ['edit { stepz }', () => edict.edit(image, { ...edit, stepz: 5 } as never), 'edit: unknown option "stepz" (did you mean "steps"?)'],
    ['generate { guidence }', () => edict.generate(inverted, { ...prompt, guidence: 5 } as never), 'generate: unknown option "guidence" (did you mean "guidance"?)'],
    ['decodeLatents { whch }', () => edict.decodeLatents(inverted, { whch: 'y' } as never), 'decodeLatents: unknown option "whch" (did you mean "which"?)'],
    ['sample { size.depth }', () => edict.sample({ ...prompt, size: { width: 32, height: 32, depth: 3 } } as never), 'sample: unknown option "size.depth" (known: width, height)'],
    ['encodePrompt { verbose }', () => edict.encodePrompt('a', { verbose: true } as never), 'encodePrompt: unknown option "verbose" (known: signal, onProgress, onWarning, timeoutMs, onStep, stepLatents, priority)'],
  ])('%s is refused with the nearest known key', async (_, call, message) => {
    const error = (await errorOf(call)) as EdictError;
    expect(error).toBeInstanceOf(EdictError);
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toBe(message);
  });

  it('decodeLatents({ which: "z" }) is refused, not a decode of x', async () => {
    const error = (await errorOf(() => edict.decodeLatents(inverted, { which: 'z' } as never))) as EdictError;
    expect(error.message).toBe('decodeLatents: option which: must be "x" or "y" (got "z")');
  });

  it('keys a schema knows still pass, undefined values included', async () => {
    const [x] = await edict.decodeLatents(inverted, { which: 'x', signal: undefined });
    const [y] = await edict.decodeLatents(inverted, { which: 'y' });
    expect(x.data.length).toBe(y.data.length);
  });

  it('nearest() suggests like commander: a close name or nothing', () => {
    expect(editDistance('stpes', 'steps')).toBe(1);
    expect(editDistance('thread', 'threads')).toBe(1);
    expect(nearest('STEPS', ['steps', 'strength'])).toBe('steps');
    expect(nearest('sed', ['seed', 'size'])).toBe('seed');
    expect(nearest('colour', ['steps', 'strength', 'seed'])).toBeNull();
  });
});
