// `{{name}}`: a lingo stage ({{phase}} phase), the component's exports.
//
// It replaces the terms of its `config.terms` table: in the `pre` phase in
// the chat line, in the `post` phase in the translation, and in the
// `translate` phase it answers a line that is exactly one term. Change it
// to make it yours; `npm test` runs the logic in `terms.ts` under Node.

import { exportStage, pass, rewritten, translated, StageError } from './lingo/index.js';
import { log } from './lingo/host.js';
import { replaceTerms } from './terms.js';

interface Config {
  terms?: Record<string, string>;
}

const stage = exportStage<Config>({
  init(config) {
    if (Object.keys(config.terms ?? {}).some((term) => term.trim() === '')) {
      throw StageError.fatal('terms: a term must not be empty');
    }
  },
  process(config, request) {
    const terms = config.terms ?? {};
    switch (request.phase) {
      case 'translate': {
        const answer = terms[request.text.trim()];
        return answer === undefined ? pass() : translated(answer);
      }
      case 'pre': {
        const text = replaceTerms(request.text, terms);
        return text === undefined ? pass() : rewritten(text);
      }
      case 'post': {
        const text = request.translation === undefined ? undefined : replaceTerms(request.translation, terms);
        if (text !== undefined) log.debug(`replaced terms in job ${request.jobId}`);
        return text === undefined ? pass() : rewritten(text);
      }
    }
  },
});

// componentize-js finds the exports by name.
export const init = stage.init;
export const process = stage.process;
export const remember = stage.remember;
