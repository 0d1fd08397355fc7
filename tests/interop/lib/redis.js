'use strict';
// A real `redis-server` per test file: free port, own temp dir, no
// persistence. Never a mock: the point of the suite is the real protocol.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const Redis = require('ioredis');

/** A TCP port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value (returned) or `ms` pass (throws `what`). */
async function waitFor(what, probe, { ms = 10_000, every = 50 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

class RedisServer {
  constructor(port, dir, { appendonly = false } = {}) {
    this.appendonly = appendonly;
    this.port = port;
    this.dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
    this.connection = { host: '127.0.0.1', port };
    this.process = null;
    this.clients = [];
  }

  /**
   * Starts a server on a free port and waits until it answers PING. With
   * `appendonly`, it keeps an AOF (fsync every second, flushed on SIGTERM),
   * so `restart()` brings its data back.
   */
  static async start(options = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lingo-redis-'));
    const server = new RedisServer(await freePort(), dir, options);
    await server.#spawn();
    return server;
  }

  async #spawn() {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', this.appendonly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction'];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    await waitFor(`redis-server on port ${this.port}`, () => this.#ping());
  }

  #ping() {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      socket.once('error', () => resolve(false));
      socket.once('data', (data) => { socket.destroy(); resolve(data.toString().startsWith('+PONG')); });
      socket.once('connect', () => socket.write('PING\r\n'));
    });
  }

  /** A client for direct reads; closed by `stop()`. */
  client() {
    const client = new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: null });
    this.clients.push(client);
    return client;
  }

  async flushall() {
    const client = new Redis(this.port, '127.0.0.1');
    await client.flushall();
    client.disconnect();
  }

  /** Stops the server (SIGTERM, no save: its data is gone). */
  async halt() {
    if (!this.process) return;
    this.process.kill('SIGTERM');
    await this.exited;
    this.process = null;
  }

  /** Stops the server and starts it again on the same port: empty, or from its AOF with `appendonly`. */
  async restart() {
    await this.halt();
    await this.#spawn();
  }

  /** Closes the clients, stops the server and removes its directory. */
  async stop() {
    for (const client of this.clients) client.disconnect();
    await this.halt();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { RedisServer, freePort, sleep, waitFor };
