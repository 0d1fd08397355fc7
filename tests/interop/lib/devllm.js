'use strict';
// `lingo dev-llm`, the stand-in LLM server (not a model), on a free port.
// Its `/stats` counts model requests, which is how tests count the pipeline's
// backend calls; `/faults` switches failures at runtime.

const { spawn } = require('node:child_process');
const { freePort, waitFor } = require('./redis');
const { lingoBin } = require('./lingo');

class DevLlm {
  constructor(port) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.stderr = '';
  }

  /** Starts `lingo dev-llm --latency <latencyMs>ms` and waits until `/stats` answers. */
  static async start({ latencyMs = 0 } = {}) {
    const server = new DevLlm(await freePort());
    const args = ['dev-llm', '--listen', `127.0.0.1:${server.port}`, '--latency', `${latencyMs}ms`];
    server.process = spawn(lingoBin(), args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    server.process.stderr.on('data', (chunk) => { server.stderr += chunk; });
    server.exited = new Promise((resolve) => server.process.once('exit', resolve));
    await waitFor(`stand-in LLM server on port ${server.port}`, () => server.#get('/stats').catch(() => null));
    return server;
  }

  async #get(path) {
    const response = await fetch(this.url + path);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return response.json();
  }

  async #post(path, body) {
    const response = await fetch(this.url + path, { method: 'POST', body: JSON.stringify(body ?? {}) });
    const json = await response.json();
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Chat requests served so far (the vllm stage speaks `/v1/chat/completions`). */
  async requests() {
    return (await this.#get('/stats')).requests['/v1/chat/completions'];
  }

  /** Zeroes the request counts. */
  async resetStats() {
    await this.#post('/stats/reset');
  }

  /** `{fault: 'status:503' | 'none' | ..., fail_rate, latency_ms}`, all optional. */
  async setFaults(settings) {
    return this.#post('/faults', settings);
  }

  async stop() {
    this.process.kill('SIGKILL');
    await this.exited;
  }
}

/** A URL where nothing listens: a backend that is down (connection refused). */
async function deadUrl() {
  return `http://127.0.0.1:${await freePort()}`;
}

module.exports = { DevLlm, deadUrl };
