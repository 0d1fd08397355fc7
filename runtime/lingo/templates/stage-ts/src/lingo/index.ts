// The lingo SDK for TypeScript stages, written by `lingo new stage` for the
// contract `{{contract}}` (wit/pipeline.wit). Pure: it imports nothing from
// the host, so tests run it under Node. The host's imports are in `host.ts`.

// The contract's types, generated from the WIT into `wit.d.ts`; a type-only
// import, so nothing of the host is loaded at run time.
import type { Outcome, Phase, Request, StageError as StageErrorValue } from 'lingo:pipeline/types@{{contract_version}}';

export type { Outcome, Phase, Request, StageErrorValue };

/** A request in `phase` for `text`, as a test makes one; set more fields after. */
export function request(phase: Phase, text: string, fields: Partial<Request> = {}): Request {
  return { phase, jobId: 'test', text, original: text, metadata: '{}', ...fields };
}

/** The job's metadata field `key` (`channel`, ...), or `undefined`. */
export function meta(request: Request, key: string): unknown {
  const fields = JSON.parse(request.metadata || '{}') as Record<string, unknown>;
  return fields[key];
}

export const translated = (text: string): Outcome => ({ tag: 'translated', val: text });
export const rewritten = (text: string): Outcome => ({ tag: 'rewritten', val: text });
export const pass = (): Outcome => ({ tag: 'pass' });
/** Pre: the line's language, found by this stage. */
export const detected = (language: string): Outcome => ({ tag: 'detected', val: language });
/** Translate: the line needs no translation into this target; `why` goes into `providers`. */
export const kept = (why: string): Outcome => ({ tag: 'kept', val: why });

/**
 * Throw one to fail the call the way you mean: `retryable` (lingo retries
 * the job), `fatal` (the job fails now) or `rateLimited` (the job waits and
 * runs again without spending an attempt). Any other error thrown becomes a
 * fatal error with its message.
 */
export class StageError extends Error {
  private constructor(message: string, readonly value: StageErrorValue) {
    super(message);
    this.name = 'StageError';
  }
  static retryable(message: string): StageError {
    return new StageError(message, { tag: 'retryable', val: message });
  }
  static fatal(message: string): StageError {
    return new StageError(message, { tag: 'fatal', val: message });
  }
  static rateLimited(message: string, retryAfterMs: number): StageError {
    const val = { message, retryAfterMs: BigInt(Math.max(0, Math.round(retryAfterMs))) };
    return new StageError(message, { tag: 'rate-limited', val });
  }
}

/** What a stage implements; `Config` is its `config` table in pipeline.toml. */
export interface Stage<Config> {
  /** Checks the config beyond its shape; runs once at load. Throw to refuse it. */
  init?(config: Config): void;
  /** Decides on one request. */
  process(config: Config, request: Request): Outcome;
  /** Hears what a later stage translated after this one passed. */
  remember?(config: Config, request: Request, translation: string, producer: string): void;
}

/** The component's exports for `stage`; `stage.ts` exports each by name. */
export function exportStage<Config>(stage: Stage<Config>) {
  // An instance serves one stage, whose config does not change: parse once.
  let parsed: { text: string; config: Config } | undefined;
  const configOf = (text: string): Config => {
    if (parsed?.text !== text) parsed = { text, config: JSON.parse(text) as Config };
    return parsed.config;
  };
  return {
    init(configText: string): void {
      try {
        stage.init?.(configOf(configText));
      } catch (error) {
        // The WIT's `result<_, string>`: the thrown value is the error.
        throw messageOf(error);
      }
    },
    process(configText: string, request: Request): Outcome {
      try {
        return stage.process(configOf(configText), request);
      } catch (error) {
        throw stageError(error);
      }
    },
    remember(configText: string, request: Request, translation: string, producer: string): void {
      try {
        stage.remember?.(configOf(configText), request, translation, producer);
      } catch (error) {
        throw stageError(error);
      }
    },
  };
}

/** What lingo receives for a thrown `error`. */
export function stageError(error: unknown): StageErrorValue {
  return error instanceof StageError ? error.value : { tag: 'fatal', val: messageOf(error) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
