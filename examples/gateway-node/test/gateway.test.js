'use strict';
// The seed's load test through this Node gateway in front of `lingo run`:
// 100 concurrent POST /api/v1/translate, every one a 200 with a translation.
// Real redis-server, the real npm bull (inside server.js), lingo as a
// separate process, and the stand-in LLM server (not a model).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const lib = path.resolve(__dirname, '../../../tests/interop/lib');
const { RedisServer, freePort, waitFor } = require(path.join(lib, 'redis'));
const { DevLlm } = require(path.join(lib, 'devllm'));
const { Lingo } = require(path.join(lib, 'lingo'));

let redis;
let llm;
let lingo;
let gateway;
let url;

before(async () => {
  redis = await RedisServer.start();
  llm = await DevLlm.start({ latencyMs: 200 });
  lingo = await Lingo.start({ redisUrl: redis.url, protocol: 'bull', queue: 'translation-jobs', llmUrl: llm.url, concurrency: 32 });
  const port = await freePort();
  url = `http://127.0.0.1:${port}/api/v1/translate`;
  gateway = spawn(process.execPath, [path.resolve(__dirname, '../server.js')], {
    env: { ...process.env, REDIS_URL: redis.url, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitFor('the Node gateway', () => fetch(url, { method: 'POST' }).then(() => true).catch(() => null));
});

after(async () => {
  gateway?.kill('SIGTERM');
  await lingo?.stop();
  await llm?.stop();
  await redis?.stop();
});

test('100 concurrent requests through the Node gateway all get a translation from lingo', async () => {
  const lines = ['안녕하세요', 'ㅋㅋㅋ', '오늘 방송 최고', 'gg', 'こんにちは'];
  const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: lines[i % lines.length], targetLanguages: ['en'] }),
  })));
  for (const response of responses) {
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(typeof body.translations.en, 'string');
    assert.ok(body.translations.en.length > 0);
    assert.equal(body.providers.en, 'vllm');
  }
  const first = await (await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: '안녕하세요', targetLanguages: ['en'] }),
  })).json();
  assert.equal(first.translations.en, 'Hello');
});
