/**
 * How the service answers a failure: every error is `{ error: { code, message } }` with the
 * engine's EdictError code (or one of the service's own codes below) and the HTTP status that
 * fits it. This file is the one place that maps codes to statuses and metric outcomes;
 * test/service-status.test.ts checks that every engine code has an entry.
 */
import { EdictError, ErrorCode, toEdictError } from '../errors.js';

/** Codes of failures that only the HTTP layer has (the engine's are in src/errors.ts). */
export const ServiceErrorCode = {
  /** The request is not well-formed: invalid JSON, a multipart body without an image, a bad base64 string. */
  BadRequest: 'ERR_BAD_REQUEST',
  /** A bearer token is required on /v1 routes and none (or a wrong one) was sent. */
  Unauthorized: 'ERR_UNAUTHORIZED',
  /** No such route, or no latents under that id (never made, evicted, or expired). */
  NotFound: 'ERR_NOT_FOUND',
  /** The route exists but not for that method. */
  MethodNotAllowed: 'ERR_METHOD_NOT_ALLOWED',
  /** The request body (or one multipart part) is over the configured limit. */
  BodyTooLarge: 'ERR_BODY_TOO_LARGE',
  /** The body's content type is neither application/json nor multipart/form-data. */
  UnsupportedMediaType: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  /** The client sent more requests than the rate limit allows: retry after Retry-After. */
  RateLimited: 'ERR_RATE_LIMITED',
  /** The server is shutting down (SIGTERM): retry on another instance. */
  ShuttingDown: 'ERR_SHUTTING_DOWN',
} as const;

export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

/** An error the HTTP layer raises itself, with its status. */
export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode | ErrorCode,
    message: string,
    readonly status: number = statusOf(code),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/**
 * Not an HTTP status anyone receives: nginx's "client closed request", used in logs and
 * metrics for work cancelled because its client went away.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** The HTTP status of each code. A code not listed (a future engine code) is a 500. */
export const STATUS_OF_CODE: Readonly<Record<ErrorCode | ServiceErrorCode, number>> = {
  // What the client sent is wrong: fix the request.
  [ErrorCode.InvalidOption]: 400,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.Prompt]: 400,
  [ErrorCode.ImageDecode]: 400,
  [ErrorCode.ImageTooLarge]: 400,
  [ErrorCode.ImageSize]: 400,
  [ErrorCode.LatentsFile]: 400,
  [ServiceErrorCode.BadRequest]: 400,
  [ServiceErrorCode.Unauthorized]: 401,
  [ServiceErrorCode.NotFound]: 404,
  [ServiceErrorCode.MethodNotAllowed]: 405,
  // Latents made by another model than the one this server runs.
  [ErrorCode.ModelMismatch]: 409,
  [ServiceErrorCode.BodyTooLarge]: 413,
  [ServiceErrorCode.UnsupportedMediaType]: 415,
  // The input ran but produced NaN or infinity (e.g. latents with huge values).
  [ErrorCode.NonFinite]: 422,
  [ServiceErrorCode.RateLimited]: 429,
  // Nobody reads it: the client is gone (logs and metrics only).
  [ErrorCode.Cancelled]: CLIENT_CLOSED_REQUEST,
  // Transient: retry later (with Retry-After), here or elsewhere.
  [ErrorCode.Overloaded]: 503,
  [ErrorCode.Disposed]: 503,
  [ServiceErrorCode.ShuttingDown]: 503,
  // The request's own time limit (timeoutMs, capped by --timeout-ms) passed, queued or running.
  [ErrorCode.Timeout]: 504,
  // The server's fault or its configuration's: nothing the client can change.
  [ErrorCode.AddonNotBuilt]: 500,
  [ErrorCode.ModelNotFound]: 500,
  [ErrorCode.ModelManifest]: 500,
  [ErrorCode.ModelFileMissing]: 500,
  [ErrorCode.ModelCorrupt]: 500,
  [ErrorCode.Tokenizer]: 500,
  [ErrorCode.ComponentFailed]: 500,
  [ErrorCode.ComponentOutput]: 500,
  [ErrorCode.UnknownDevice]: 500,
  [ErrorCode.CudaUnavailable]: 500,
  [ErrorCode.UnsupportedDtype]: 500,
  [ErrorCode.OutOfMemory]: 500,
  [ErrorCode.Torch]: 500,
  [ErrorCode.Native]: 500,
  [ErrorCode.Io]: 500,
};

export function statusOf(code: string): number {
  return (STATUS_OF_CODE as Record<string, number>)[code] ?? 500;
}

/** How a request ended, for the metrics: `edict_http_requests_total{outcome}`. */
export type Outcome = 'ok' | 'rejected' | 'cancelled' | 'timed_out' | 'failed' | 'bad_request';

export const OUTCOMES: readonly Outcome[] = ['ok', 'rejected', 'cancelled', 'timed_out', 'failed', 'bad_request'];

export function outcomeOf(code: string | null): Outcome {
  if (code === null) return 'ok';
  if (code === ErrorCode.Cancelled) return 'cancelled';
  if (code === ErrorCode.Timeout) return 'timed_out';
  const status = statusOf(code);
  // Shed load: queue full, shutting down, rate limited. The request did no work.
  if (status === 503 || status === 429) return 'rejected';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'failed';
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** The code, status, message and extra headers of anything thrown while serving a request. */
export function describeError(error: unknown): { code: string; status: number; message: string; headers: Record<string, string> } {
  if (error instanceof ServiceError) return { code: error.code, status: error.status, message: error.message, headers: error.headers };
  if (error instanceof EdictError) return { code: error.code, status: statusOf(error.code), message: error.message, headers: {} };
  const fastify = fastifyError(error);
  if (fastify) return { ...fastify, headers: {} };
  const edict = toEdictError(error, ErrorCode.Native);
  return { code: edict.code, status: statusOf(edict.code), message: edict.message, headers: {} };
}

/** Errors of fastify and its plugins (FST_* codes, with a statusCode) in the service's terms. */
function fastifyError(error: unknown): { code: string; status: number; message: string } | null {
  if (!(error instanceof Error)) return null;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number') {
    // JSON.parse errors from the body parser carry a statusCode 400 and no FST_ code.
    if (error instanceof SyntaxError && statusCode === 400) return { code: ServiceErrorCode.BadRequest, status: 400, message: `the body is not valid JSON: ${error.message}` };
    return null;
  }
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return { code: ServiceErrorCode.BodyTooLarge, status: 413, message: error.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { code: ServiceErrorCode.UnsupportedMediaType, status: 415, message: 'send application/json or multipart/form-data' };
    default:
      if (statusCode === 413) return { code: ServiceErrorCode.BodyTooLarge, status: 413, message: error.message };
      if (statusCode === 429) return { code: ServiceErrorCode.RateLimited, status: 429, message: error.message };
      if (statusCode >= 400 && statusCode < 500) return { code: ServiceErrorCode.BadRequest, status: 400, message: error.message };
      return { code: ErrorCode.Native, status: 500, message: error.message };
  }
}
