/**
 * TorchModule: load any single TorchScript file and run its forward on the compute thread.
 * The low-level building block under the pipeline, exposed for debugging and for research
 * scripts that want one component on its own.
 */
import { native } from './errors.js';
import { addon, type NativeTensor, type NativeTorchModule } from './native.js';
import { defaultThreads, parseDevice, parseDtypeOn, type Device, type Dtype } from './devices.js';

export interface LoadModuleOptions {
  device?: Device;
  /** The dtype floating parameters are cast to (default float32). */
  dtype?: Dtype;
  /** Intra-op threads for this call (default: the machine's cores). */
  threads?: number;
}

export class TorchModule {
  private constructor(
    private readonly handle: NativeTorchModule,
    private readonly threads: number,
  ) {}

  static async load(path: string, options: LoadModuleOptions = {}): Promise<TorchModule> {
    const device = parseDevice(options.device ?? 'cpu');
    const dtype = parseDtypeOn(options.dtype ?? 'float32', device, 'dtype');
    const threads = options.threads ?? defaultThreads();
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
