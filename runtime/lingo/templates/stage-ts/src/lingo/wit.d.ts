// The host's imports as componentize-js presents them (wit/pipeline.wit).

declare module 'lingo:pipeline/http@0.2.0' {
  export interface Request { method: string; url: string; headers: [string, string][]; body: Uint8Array }
  export interface Response { status: number; headers: [string, string][]; body: Uint8Array }
  export function send(request: Request): Response;
}

declare module 'lingo:pipeline/kv@0.2.0' {
  export function get(key: string): Uint8Array | undefined;
  export function set(key: string, value: Uint8Array, ttlSeconds: bigint | undefined): void;
  function remove(key: string): void;
  export { remove as delete };
}

declare module 'lingo:pipeline/log@0.2.0' {
  export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
  export function write(level: Level, message: string): void;
}

declare module 'lingo:pipeline/scratch@0.2.0' {
  export function get(): Uint8Array | undefined;
  /** Throws the host's message when `value` is over `limits.max_scratch_bytes`. */
  export function set(value: Uint8Array): void;
}
