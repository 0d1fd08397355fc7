// A minimal API gateway in the style of the platform's own: it puts each chat
// line on the `translation-jobs` Bull queue and waits up to 30 s for the
// worker's answer. Nothing in it knows about lingo — that is the point: the
// same code works in front of the old Python worker and in front of
// `lingo run`.
//
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3000 node server.js
//   curl -X POST localhost:3000/api/v1/translate -H 'content-type: application/json' \
//        -d '{"text": "테스트", "targetLanguages": ["en"]}'

const http = require('node:http');
const Queue = require('bull');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const PORT = Number(process.env.PORT || 3000);
const TIMEOUT_MS = Number(process.env.QUEUE_TIMEOUT_MS || 30000);

const queue = new Queue('translation-jobs', REDIS_URL);

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => {
      try { resolve(JSON.parse(data)); } catch (err) { reject(err); }
    });
  });
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const server = http.createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/v1/translate') {
    return reply(res, 404, { error: 'not found' });
  }
  let body;
  try {
    body = await readJson(req);
  } catch {
    return reply(res, 400, { error: 'body must be JSON' });
  }
  const { text, targetLanguages } = body;
  if (typeof text !== 'string' || !Array.isArray(targetLanguages)) {
    return reply(res, 400, { error: 'text and targetLanguages are required' });
  }
  const job = await queue.add({ text, targetLanguages });
  try {
    const result = await withTimeout(job.finished(), TIMEOUT_MS);
    return reply(res, 200, result);
  } catch (err) {
    const timedOut = err.message === 'timeout';
    return reply(res, timedOut ? 504 : 500, { error: err.message });
  }
});

server.listen(PORT, () => console.log(`gateway listening on :${PORT}`));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    server.close();
    await queue.close();
    process.exit(0);
  });
}
