// float16 on CPU is refused at load, with the alternatives named (Debian's libtorch has no
// float16 CPU kernels: it used to fail at the first UNet call with a libtorch message).
import { describe, expect, it } from 'vitest';

import { Edict, EdictError, TorchModule } from '../src/index.js';
import { collect, ensureBuilt, startCli } from './cli-helpers.js';
import { tinyModel } from './helpers/fixtures.js';

const failure = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as EdictError);

describe('float16 on CPU', () => {
  it.each(['dtype', 'textDtype', 'vaeDtype'])('Edict.load({ %s: "float16" }) is ERR_UNSUPPORTED_DTYPE', async (key) => {
    const error = await failure(Edict.load(tinyModel, { [key]: 'float16' }));
    expect(error).toBeInstanceOf(EdictError);
    expect(error?.code).toBe('ERR_UNSUPPORTED_DTYPE');
    expect(error?.message).toBe(`${key} float16 needs a CUDA device; on cpu use float32 (the default), bfloat16 or float64`);
  });

  it('TorchModule.load too', async () => {
    const error = await failure(TorchModule.load(`${tinyModel}/unet.pt`, { dtype: 'float16' }));
    expect(error?.code).toBe('ERR_UNSUPPORTED_DTYPE');
  });

  it('bfloat16 still loads and runs on CPU (the bundled model)', async () => {
    const edict = await Edict.load(undefined, { dtype: 'bfloat16' });
    const image = { data: new Uint8Array(32 * 32 * 3).fill(90), width: 32, height: 32, channels: 3 as const };
    const latents = await edict.invert(image, { prompt: 'a red circle', steps: 3 });
    expect(latents.params.stage).toBe('inverted');
    expect(latents.x.every(Number.isFinite)).toBe(true);
    await edict.dispose();
  });

  it('the CLI says so in --help and refuses --dtype float16 with the code', async () => {
    ensureBuilt();
    const help = await collect(startCli(['--help']));
    expect(help.stdout).toMatch(/float16 \(CUDA only\)/);
    const run = await collect(startCli(['--model', tinyModel, 'encode', 'nothing.png', '--dtype', 'float16', '-o', '/tmp/x.safetensors']));
    expect(run.stderr).toMatch(/ERR_UNSUPPORTED_DTYPE: dtype float16 needs a CUDA device/);
    expect(run.code).toBe(1);
  });
});
