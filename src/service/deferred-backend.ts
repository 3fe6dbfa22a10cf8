/**
 * A backend that is still being made (the model loading): the server can listen at once, so
 * that /healthz answers and /readyz says "loading" (503) until the model is there, and work
 * requests are shed with 503 meanwhile instead of waiting on a connection.
 */
import { EdictError, ErrorCode } from '../errors.js';
import type { SchedulerCounters } from '../pipeline.js';
import type { CallContext, ServiceBackend } from './backend.js';

export class DeferredBackend implements ServiceBackend {
  private backend: ServiceBackend | null = null;
  private failure: unknown = null;
  readonly loaded: Promise<ServiceBackend>;

  constructor(making: Promise<ServiceBackend>) {
    this.loaded = making.then(
      (backend) => (this.backend = backend),
      (error: unknown) => {
        this.failure = error;
        throw error;
      },
    );
    // The owner awaits `loaded`; this keeps an unobserved failure from being an unhandled rejection.
    this.loaded.catch(() => undefined);
  }

  private get(): ServiceBackend {
    if (this.backend) return this.backend;
    throw new EdictError(ErrorCode.Overloaded, this.failure ? 'the model failed to load' : 'the model is still loading');
  }

  edit(image: Buffer, request: Parameters<ServiceBackend['edit']>[1], context: CallContext) {
    return this.get().edit(image, request, context);
  }

  invert(image: Buffer, request: Parameters<ServiceBackend['invert']>[1], context: CallContext) {
    return this.get().invert(image, request, context);
  }

  generate(latents: Buffer, request: Parameters<ServiceBackend['generate']>[1], context: CallContext) {
    return this.get().generate(latents, request, context);
  }

  reconstruct(image: Buffer, request: Parameters<ServiceBackend['reconstruct']>[1], context: CallContext) {
    return this.get().reconstruct(image, request, context);
  }

  async ready(): Promise<{ ready: boolean; reason?: string }> {
    if (this.backend) return this.backend.ready();
    return { ready: false, reason: this.failure ? 'the model failed to load' : 'the model is loading' };
  }

  counters(): SchedulerCounters | null {
    return this.backend?.counters() ?? null;
  }

  async close(): Promise<void> {
    const backend = await this.loaded.catch(() => null);
    await backend?.close();
  }
}
