'use strict';
// What the bench's Node scripts share: their command-line flags
// (`--name value` pairs, with defaults, numbers where the default is a
// number), and the peers' work per job (`translate`).

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

module.exports = { parseArgs, translate };
