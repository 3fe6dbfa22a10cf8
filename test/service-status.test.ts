// The service's one map from error codes to HTTP statuses and metric outcomes
// (src/service/status.ts): every engine code has a status, and each class of failure gets the
// status the service promises.
import { describe, expect, it } from 'vitest';

import { EdictError, ErrorCode } from '../src/errors.js';
import { CLIENT_CLOSED_REQUEST, describeError, outcomeOf, ServiceError, ServiceErrorCode, STATUS_OF_CODE, statusOf } from '../src/service/status.js';

describe('the code -> status map', () => {
  it('has an entry for every engine code and every service code', () => {
    for (const code of [...Object.values(ErrorCode), ...Object.values(ServiceErrorCode)]) {
      expect(STATUS_OF_CODE, code).toHaveProperty(code);
    }
    expect(Object.keys(STATUS_OF_CODE).sort()).toEqual([...Object.values(ErrorCode), ...Object.values(ServiceErrorCode)].sort());
  });

  it('maps each class of failure to the status the service promises', () => {
    const expected: Record<string, number> = {
      ERR_INVALID_OPTION: 400,
      ERR_INVALID_ARGUMENT: 400,
      ERR_PROMPT: 400,
      ERR_IMAGE_DECODE: 400,
      ERR_IMAGE_TOO_LARGE: 400,
      ERR_IMAGE_SIZE: 400,
      ERR_LATENTS_FILE: 400,
      ERR_BAD_REQUEST: 400,
      ERR_UNAUTHORIZED: 401,
      ERR_NOT_FOUND: 404,
      ERR_MODEL_MISMATCH: 409,
      ERR_BODY_TOO_LARGE: 413,
      ERR_UNSUPPORTED_MEDIA_TYPE: 415,
      ERR_NONFINITE: 422,
      ERR_RATE_LIMITED: 429,
      ERR_CANCELLED: 499,
      ERR_OVERLOADED: 503,
      ERR_DISPOSED: 503,
      ERR_SHUTTING_DOWN: 503,
      ERR_TIMEOUT: 504,
      ERR_OUT_OF_MEMORY: 500,
      ERR_TORCH: 500,
      ERR_MODEL_CORRUPT: 500,
      ERR_CUDA_UNAVAILABLE: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect(statusOf(code), code).toBe(status);
    expect(statusOf('ERR_SOMETHING_NEW')).toBe(500);
    expect(CLIENT_CLOSED_REQUEST).toBe(499);
  });

  it('sorts outcomes for the metrics', () => {
    expect(outcomeOf(null)).toBe('ok');
    expect(outcomeOf('ERR_OVERLOADED')).toBe('rejected');
    expect(outcomeOf('ERR_SHUTTING_DOWN')).toBe('rejected');
    expect(outcomeOf('ERR_RATE_LIMITED')).toBe('rejected');
    expect(outcomeOf('ERR_CANCELLED')).toBe('cancelled');
    expect(outcomeOf('ERR_TIMEOUT')).toBe('timed_out');
    expect(outcomeOf('ERR_PROMPT')).toBe('bad_request');
    expect(outcomeOf('ERR_UNAUTHORIZED')).toBe('bad_request');
    expect(outcomeOf('ERR_TORCH')).toBe('failed');
  });

  it('describes engine, service, fastify and unknown errors', () => {
    expect(describeError(new EdictError(ErrorCode.Timeout, 'late'))).toMatchObject({ code: 'ERR_TIMEOUT', status: 504, message: 'late' });
    expect(describeError(new ServiceError(ServiceErrorCode.Unauthorized, 'no', 401, { 'www-authenticate': 'Bearer' }))).toEqual({
      code: 'ERR_UNAUTHORIZED',
      status: 401,
      message: 'no',
      headers: { 'www-authenticate': 'Bearer' },
    });
    const tooLarge = Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(describeError(tooLarge)).toMatchObject({ code: 'ERR_BODY_TOO_LARGE', status: 413 });
    const media = Object.assign(new Error('Unsupported Media Type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 });
    expect(describeError(media)).toMatchObject({ code: 'ERR_UNSUPPORTED_MEDIA_TYPE', status: 415 });
    expect(describeError(new Error('boom'))).toMatchObject({ code: 'ERR_NATIVE', status: 500 });
    expect(describeError(Object.assign(new Error('oom'), { code: 'ERR_OUT_OF_MEMORY' }))).toMatchObject({ code: 'ERR_OUT_OF_MEMORY', status: 500 });
  });
});
