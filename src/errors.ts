/**
 * Typed errors. Every failure the package reports is an EdictError with a stable `code`;
 * the message says what was expected and what was given. Native (C++) failures arrive with
 * the same codes: test/error-codes.test.ts checks that every code native/errors.h uses is here
 * and in the README's table.
 */
export const ErrorCode = {
  /** The native addon is missing or failed to load (not built, or libtorch not found). */
  AddonNotBuilt: 'ERR_ADDON_NOT_BUILT',
  /** A low-level argument (shape, typed array) is malformed. */
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  /** An option is missing, of the wrong type or out of range. */
  InvalidOption: 'ERR_INVALID_OPTION',
  /** The model folder or its model.json does not exist. */
  ModelNotFound: 'ERR_MODEL_NOT_FOUND',
  /** model.json is not valid JSON or a field is missing or wrong. */
  ModelManifest: 'ERR_MODEL_MANIFEST',
  /** A component file named by the manifest is missing. */
  ModelFileMissing: 'ERR_MODEL_FILE_MISSING',
  /** Latents were made by another model (their fingerprint differs); allowModelMismatch accepts them. */
  ModelMismatch: 'ERR_MODEL_MISMATCH',
  /** The call's timeoutMs passed, while it was queued or running. */
  Timeout: 'ERR_TIMEOUT',
  /** The pipeline's queue of sampling calls is full (its maxQueue): retry later. */
  Overloaded: 'ERR_OVERLOADED',
  /** A component file is not loadable TorchScript. */
  ModelCorrupt: 'ERR_MODEL_CORRUPT',
  /** tokenizer.json could not be read or used. */
  Tokenizer: 'ERR_TOKENIZER',
  /** A component raised an error while running (e.g. a wrong input shape). */
  ComponentFailed: 'ERR_COMPONENT_FAILED',
  /** A component returned an output of the wrong type or shape. */
  ComponentOutput: 'ERR_COMPONENT_OUTPUT',
  /** The device string is not cpu / cuda / cuda:N, or the GPU index does not exist. */
  UnknownDevice: 'ERR_UNKNOWN_DEVICE',
  /** CUDA was requested but this libtorch build or machine has none. */
  CudaUnavailable: 'ERR_CUDA_UNAVAILABLE',
  /** The dtype is not one of float16, bfloat16, float32, float64. */
  UnsupportedDtype: 'ERR_UNSUPPORTED_DTYPE',
  /** The image could not be read or decoded. */
  ImageDecode: 'ERR_IMAGE_DECODE',
  /** The image has more pixels than the configured limit. */
  ImageTooLarge: 'ERR_IMAGE_TOO_LARGE',
  /** The requested image size is not accepted by the model. */
  ImageSize: 'ERR_IMAGE_SIZE',
  /** A prompt is empty or not a string. */
  Prompt: 'ERR_PROMPT',
  /** NaN or infinity appeared in latents or images. */
  NonFinite: 'ERR_NONFINITE',
  /** The operation was cancelled (AbortSignal, or the process is shutting down). */
  Cancelled: 'ERR_CANCELLED',
  /** The pipeline was disposed. */
  Disposed: 'ERR_DISPOSED',
  /** A latents file is malformed or does not fit the model. */
  LatentsFile: 'ERR_LATENTS_FILE',
  /** Host or device memory ran out. */
  OutOfMemory: 'ERR_OUT_OF_MEMORY',
  /** Any other libtorch error. */
  Torch: 'ERR_TORCH',
  /** Any other native error. */
  Native: 'ERR_NATIVE',
  /** Reading or writing a file failed. */
  Io: 'ERR_IO',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes = new Set<string>(Object.values(ErrorCode));

export class EdictError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdictError';
    this.code = code;
  }
}

/** Wraps anything thrown by the addon (or elsewhere) into an EdictError, keeping its code. */
export function toEdictError(error: unknown, fallback: ErrorCode = ErrorCode.Native): EdictError {
  if (error instanceof EdictError) return error;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const typed = typeof code === 'string' && knownCodes.has(code) ? (code as ErrorCode) : fallback;
    return new EdictError(typed, error.message, { cause: error });
  }
  return new EdictError(fallback, String(error));
}

/**
 * Runs a native call and awaits it, rethrowing what it throws as an EdictError. It takes the
 * call, not its promise: the addon checks its arguments synchronously, so a promise argument
 * would be evaluated (and throw a plain Error) before this function could catch anything.
 */
export async function native<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toEdictError(error);
  }
}
