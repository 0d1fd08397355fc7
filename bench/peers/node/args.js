'use strict';
// What the bench's Node scripts share: their command-line flags
// (`--name value` pairs, with defaults, numbers where the default is a
// number), and the peers' work per job: a cache hit (`translate`), or with
// `--llm URL` what lingo's `vllm` stage does (`translateWithLlm`).

/** The flags after the script's name, over `defaults`; an unknown flag throws. */
function parseArgs(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in defaults)) throw new Error(`unknown flag --${key}`);
    out[key] = typeof defaults[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return out;
}

/** The peers' work per job: one GET per target language of `bench:tr:<lang>:<text>`. */
async function translate(kv, data) {
  const langs = data.targetLanguages;
  const hits = await Promise.all(langs.map((lang) => kv.get(`bench:tr:${lang}:${data.text}`)));
  const translations = {};
  const providers = {};
  langs.forEach((lang, i) => {
    if (hits[i] === null) throw new Error(`cache miss: ${lang} ${data.text}`);
    translations[lang] = hits[i];
    providers[lang] = 'cache';
  });
  return { translations, sourceLanguage: null, providers };
}

// lingo's system prompt (plugins/sdk's `prompt::SYSTEM`).
const SYSTEM_PROMPT =
  'You translate live-stream chat messages. Translate the text into the target language and reply with the ' +
  'translation only, without quotes, notes or explanations. Keep @mentions, #hashtags, emoji, URLs and numbers ' +
  'exactly as they appear. Keep the tone and slang of chat.';

/** One OpenAI-style chat request per target language to `endpoint` (the stand-in LLM server's), as lingo's `vllm` stage sends it. */
async function translateWithLlm(endpoint, data) {
  const langs = data.targetLanguages;
  const translations = {};
  const providers = {};
  for (const lang of langs) {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'stand-in',
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: `Source language: auto-detect\nTarget language: ${lang}\nText:\n${data.text}` },
        ],
        temperature: 0.2,
        max_tokens: 512,
      }),
    });
    if (!response.ok) throw new Error(`LLM server answered ${response.status}`);
    const answer = await response.json();
    const content = answer?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new Error(`no choices[0].message.content in ${JSON.stringify(answer)}`);
    translations[lang] = content.trim();
    providers[lang] = 'vllm';
  }
  return { translations, sourceLanguage: null, providers };
}

/** The work per job the flags ask for: the LLM at `args.llm` if set, else the cache through `kv`. */
function work(args, kv) {
  if (!args.llm) return (job) => translate(kv, job.data);
  const endpoint = `${args.llm.replace(/\/$/, '')}/v1/chat/completions`;
  return (job) => translateWithLlm(endpoint, job.data);
}

module.exports = { parseArgs, work };
