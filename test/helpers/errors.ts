import { expect } from 'vitest';

import { EdictError } from '../../src/index.js';

/** The EdictError code a call (or promise) rejects with; fails the test on any other outcome. */
export async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(EdictError);
    return (error as EdictError).code;
  }
  throw new Error('expected an error');
}
