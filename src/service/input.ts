/**
 * What a /v1 request carries: the bytes of one file (an image, or latents for generate) and
 * the engine options, from either body the service accepts:
 *
 * - multipart/form-data: a file part (`image`, or `latents` for generate) and a field
 *   `options` holding the options as JSON;
 * - application/json: the options, with the file as a base64 string (`image`, or `latents`),
 *   or, for generate, `id`: latents kept by an earlier /v1/invert.
 *
 * Images arrive as bytes only: no field is ever read as a path on the server.
 */
import type { FastifyRequest } from 'fastify';

import { ServiceError, ServiceErrorCode } from './status.js';

export interface RequestInput {
  /** The file's bytes (absent only for generate by id). */
  bytes?: Buffer;
  /** Which file: "image" or "latents". */
  file?: 'image' | 'latents';
  /** generate: the id of stored latents. */
  id?: string;
  options: Record<string, unknown>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const DATA_URL = /^data:[\w.+-]+\/[\w.+-]+(;[\w.+-]+=[\w.+-]+)*;base64,/i;

const bad = (message: string) => new ServiceError(ServiceErrorCode.BadRequest, message);

/** Decodes a base64 (or base64url, or data: URL) string strictly: Buffer.from would skip bad characters. */
export function decodeBase64(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw bad(`"${field}" must be a base64 string, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  const text = value.replace(DATA_URL, '').replace(/\s+/g, '');
  if (text.length === 0) throw bad(`"${field}" is empty`);
  if (text.length % 4 === 1 || !(BASE64.test(text) || BASE64URL.test(text))) {
    throw bad(`"${field}" is not base64 (images are sent as bytes: base64 in JSON, or a multipart file part; never a path)`);
  }
  return Buffer.from(text, BASE64.test(text) ? 'base64' : 'base64url');
}

/**
 * Reads the request's file and options. `files` are the file fields this route takes, the first
 * being required unless `id` is allowed and given.
 */
export async function readInput(request: FastifyRequest, files: readonly ('image' | 'latents')[], allowId = false): Promise<RequestInput> {
  if (request.isMultipart()) return readMultipart(request, files, allowId);
  const body = request.body;
  if (body === undefined || body === null) throw new ServiceError(ServiceErrorCode.UnsupportedMediaType, 'send application/json or multipart/form-data', 415);
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('the JSON body must be an object');
  const options: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  const input: RequestInput = { options };
  for (const field of files) {
    if (!(field in options)) continue;
    if (input.bytes) throw bad(`send one of ${files.map((f) => `"${f}"`).join(' or ')}, not both`);
    input.bytes = decodeBase64(options[field], field);
    input.file = field;
    delete options[field];
  }
  if (allowId && 'id' in options) {
    if (input.bytes) throw bad(`send "id" or "${input.file}", not both`);
    if (typeof options.id !== 'string') throw bad('"id" must be a string');
    input.id = options.id;
    delete options.id;
  }
  if (!input.bytes && !input.id) throw bad(`the body has no ${describeFiles(files, allowId)}`);
  return input;
}

function describeFiles(files: readonly string[], allowId: boolean): string {
  const names = [...files.map((f) => `"${f}" (base64)`), ...(allowId ? ['"id"'] : [])];
  return names.join(' or ');
}

async function readMultipart(request: FastifyRequest, files: readonly ('image' | 'latents')[], allowId: boolean): Promise<RequestInput> {
  const input: RequestInput = { options: {} };
  let options: string | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (!(files as readonly string[]).includes(part.fieldname)) {
        // Drain it, so the parser can go on to the next part.
        part.file.resume();
        throw bad(`unexpected file part "${part.fieldname}": this route takes ${files.map((f) => `"${f}"`).join(' or ')}`);
      }
      if (input.bytes) {
        part.file.resume();
        throw bad('send one file part');
      }
      input.bytes = await part.toBuffer();
      input.file = part.fieldname as 'image' | 'latents';
    } else if (part.fieldname === 'options') {
      if (options !== undefined) throw bad('send one "options" part');
      options = String(part.value);
    } else if (allowId && part.fieldname === 'id') {
      input.id = String(part.value);
    } else {
      throw bad(`unexpected field "${part.fieldname}": send the options as JSON in one field "options"`);
    }
  }
  if (options !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options);
    } catch (error) {
      throw bad(`the "options" part is not valid JSON: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad('the "options" part must be a JSON object');
    input.options = parsed as Record<string, unknown>;
  }
  if (allowId && typeof input.options.id === 'string' && input.id === undefined) {
    input.id = input.options.id;
    delete input.options.id;
  }
  if (input.bytes && input.id) throw bad(`send "id" or a "${input.file}" part, not both`);
  if (!input.bytes && !input.id) throw bad(`the form has no ${files.map((f) => `"${f}" file part`).join(' or ')}${allowId ? ' or "id"' : ''}`);
  if (input.bytes && input.bytes.length === 0) throw bad(`the "${input.file}" part is empty`);
  return input;
}
