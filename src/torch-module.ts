/**
 * TorchModule: load any single TorchScript file and run its forward on the compute thread.
 * The low-level building block under the pipeline, exposed for debugging and for research
 * scripts that want one component on its own.
 */
import { native } from './errors.js';
import { addon, type NativeTensor, type NativeTorchModule } from './native.js';
import { defaultThreads, parseDevice, parseDtypeOn } from './devices.js';
import { loadModuleOptionsSchema, validate, type LoadModuleOptions } from './options.js';

export type { LoadModuleOptions } from './options.js';

export class TorchModule {
  private constructor(
    private readonly handle: NativeTorchModule,
    private readonly threads: number,
  ) {}

  static async load(path: string, options: LoadModuleOptions = {}): Promise<TorchModule> {
    const o = validate(loadModuleOptionsSchema, options, 'TorchModule.load');
    const device = parseDevice(o.device ?? 'cpu');
    const dtype = parseDtypeOn(o.dtype ?? 'float32', device, 'dtype');
    const threads = o.threads ?? defaultThreads();
    const handle = await native(() => addon().loadModule(path, { device, dtype, threads }));
    return new TorchModule(handle, threads);
  }

  get device(): string {
    return this.handle.device;
  }

  get dtype(): string {
    return this.handle.dtype;
  }

  /** Runs forward; floating inputs are cast to the module's dtype and device. */
  async forward(inputs: NativeTensor[]): Promise<NativeTensor> {
    return native(() => this.handle.forward(inputs, { threads: this.threads }));
  }
}
