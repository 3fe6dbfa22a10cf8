/**
 * The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header, then the raw little-endian tensor bytes. Only
 * what latent files need: F64/F32 tensors and string metadata. Python reads these files with
 * `safetensors.safe_open` or `safetensors.torch.load_file`.
 */
import { open, stat } from 'node:fs/promises';

import { EdictError, ErrorCode } from './errors.js';
import { MAX_SAFETENSORS_HEADER_BYTES } from './limits.js';

export interface SafeTensor {
  dtype: 'F64' | 'F32';
  shape: number[];
  data: Float64Array | Float32Array;
}

export interface SafeTensorsFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const bytesPer = { F64: 8, F32: 4 } as const;

export function encodeSafeTensors(file: SafeTensorsFile): Buffer {
  const header: Record<string, unknown> = { __metadata__: file.metadata };
  let offset = 0;
  const entries = Object.entries(file.tensors);
  for (const [name, tensor] of entries) {
    const bytes = tensor.data.length * bytesPer[tensor.dtype];
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let cursor = 8 + headerBytes.length;
  for (const [, tensor] of entries) {
    const view = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    view.copy(out, cursor);
    cursor += view.length;
  }
  return out;
}

function invalid(message: string): never {
  throw new EdictError(ErrorCode.LatentsFile, `not a valid safetensors file: ${message}`);
}

/** The header length a file's first 8 bytes give, checked against the cap and the file's size. */
function headerLengthOf(bytes: Buffer, fileSize: number): number {
  if (fileSize < 8) invalid(`${fileSize} bytes is too short`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
    invalid(`header length ${headerLength} is over the limit of ${MAX_SAFETENSORS_HEADER_BYTES} bytes`);
  }
  if (headerLength <= 0 || 8 + headerLength > fileSize) invalid(`header length ${headerLength} does not fit the file (${fileSize} bytes)`);
  return headerLength;
}

/**
 * Reads a safetensors file, refusing (ERR_LATENTS_FILE) anything but a regular file and a
 * header length over the cap or past the end before reading the rest: /dev/zero, a FIFO or a
 * 2^60-byte header length cannot make it read forever or allocate without bound.
 */
export async function readSafeTensorsFile(path: string): Promise<Buffer> {
  const fail = (message: string, cause?: unknown): never => {
    throw new EdictError(ErrorCode.LatentsFile, `cannot read ${path}: ${message}`, { cause });
  };
  try {
    // stat before open: opening a FIFO would wait for a writer.
    const stats = await stat(path);
    if (!stats.isFile()) fail(`it is not a regular file (${stats.isDirectory() ? 'a directory' : 'a device, FIFO or socket'})`);
    const handle = await open(path, 'r');
    try {
      const size = (await handle.stat()).size;
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      try {
        headerLengthOf(head, size);
      } catch (error) {
        fail((error as Error).message, error);
      }
      const bytes = Buffer.alloc(size);
      for (let offset = 0; offset < size; ) {
        const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
        if (bytesRead === 0) fail(`read ${offset} of its ${size} bytes (the file shrank while being read)`);
        offset += bytesRead;
      }
      return bytes;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof EdictError) throw error;
    return fail((error as Error).message, error);
  }
}

export function decodeSafeTensors(bytes: Buffer): SafeTensorsFile {
  const headerLength = headerLengthOf(bytes, bytes.length);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    invalid('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) invalid('the header is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, value] of Object.entries(header)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`entry ${name} is ${JSON.stringify(value)}, expected an object`);
    if (name === '__metadata__') {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (typeof item !== 'string') invalid(`metadata ${key} is not a string`);
        metadata[key] = item;
      }
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (entry.dtype !== 'F64' && entry.dtype !== 'F32') invalid(`tensor ${name} has dtype ${String(entry.dtype)}, expected F64 or F32`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) invalid(`tensor ${name} has a bad shape`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) invalid(`tensor ${name} has bad data_offsets`);
    const [begin, end] = offsets as number[];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = bytesPer[entry.dtype];
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end <= dataLength && end - begin === count * size)) {
      invalid(`tensor ${name}: offsets [${begin}, ${end}] do not match shape [${shape}] of ${entry.dtype} within ${dataLength} data bytes`);
    }
    // Copy into an aligned buffer (the file's data need not be aligned in memory).
    const copy = new ArrayBuffer(end - begin);
    bytes.copy(Buffer.from(copy), 0, dataStart + begin, dataStart + end);
    const data = entry.dtype === 'F64' ? new Float64Array(copy) : new Float32Array(copy);
    tensors[name] = { dtype: entry.dtype, shape: shape as number[], data };
  }
  return { tensors, metadata };
}
