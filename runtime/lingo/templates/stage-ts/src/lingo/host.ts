// The host's imports, the only way a stage reaches the world: `http` to the
// stage's `allowed_hosts`, `kv` in its own namespace, `log`, and `scratch`
// from one phase of a unit to a later one. These modules exist only inside
// lingo, so keep them out of what tests import.

import { send as sendRaw } from 'lingo:pipeline/http@{{contract_version}}';
import { get, set, delete as remove } from 'lingo:pipeline/kv@{{contract_version}}';
import { write } from 'lingo:pipeline/log@{{contract_version}}';
import * as scratchRaw from 'lingo:pipeline/scratch@{{contract_version}}';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface HttpResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  text(): string;
}

/**
 * Sends one HTTP request. A host outside `allowed_hosts`, a timeout or a
 * failed connection throws an Error whose `payload` is the WIT's `http-error`.
 */
export function send(request: { method: string; url: string; headers?: [string, string][]; body?: string | Uint8Array }): HttpResponse {
  const body = typeof request.body === 'string' ? encoder.encode(request.body) : (request.body ?? new Uint8Array());
  const response = sendRaw({ method: request.method, url: request.url, headers: request.headers ?? [], body });
  return { ...response, text: () => decoder.decode(response.body) };
}

export const kv = {
  /** The value of `key`, or `undefined`. */
  get(key: string): string | undefined {
    const value = get(key);
    return value === undefined ? undefined : decoder.decode(value);
  },
  set(key: string, value: string, ttlSeconds?: number): void {
    set(key, encoder.encode(value), ttlSeconds === undefined ? undefined : BigInt(ttlSeconds));
  },
  delete(key: string): void {
    remove(key);
  },
};

export const log = {
  debug: (message: string) => write('debug', message),
  info: (message: string) => write('info', message),
  warn: (message: string) => write('warn', message),
  error: (message: string) => write('error', message),
};

/**
 * What this stage keeps from one phase of a unit to a later phase of the
 * same unit (a `pre` call's placeholders, read back in `post`), as JSON. A
 * `pre` call's value starts every unit of its job; it is kept only when the
 * call succeeds, and `store` throws past `limits.max_scratch_bytes`.
 */
export const scratch = {
  load<T>(): T | undefined {
    const value = scratchRaw.get();
    return value === undefined ? undefined : (JSON.parse(decoder.decode(value)) as T);
  },
  store(value: unknown): void {
    scratchRaw.set(encoder.encode(JSON.stringify(value)));
  },
};
