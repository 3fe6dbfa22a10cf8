/**
 * Which options of the API can cross HTTP: those whose schema has a JSON form. The others are
 * in-process callbacks and handles (signal, onProgress, onWarning, onStep, ... whatever the
 * API adds next), found from the schemas themselves so that a new callback option is refused
 * over HTTP and left out of the OpenAPI document without anyone listing it here.
 */
import { z } from 'zod';

const cache = new WeakMap<z.ZodObject, string[]>();

/** The keys of `schema` that JSON cannot carry (z.custom, z.instanceof and the like). */
export function callbackKeys(schema: z.ZodObject): string[] {
  let keys = cache.get(schema);
  if (!keys) {
    keys = Object.entries(schema.shape as Record<string, z.ZodType>)
      .filter(([, field]) => {
        try {
          z.toJSONSchema(field, { io: 'input' });
          return false;
        } catch {
          return true;
        }
      })
      .map(([key]) => key);
    cache.set(schema, keys);
  }
  return keys;
}

/** `schema` without its callback keys. */
export function plainSchema(schema: z.ZodObject): z.ZodObject {
  return schema.omit(Object.fromEntries(callbackKeys(schema).map((key) => [key, true])) as never);
}
