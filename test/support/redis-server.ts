import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { freePort } from './service-process';
import { waitFor } from './wait-for';

/**
 * A Redis server of a test's own, without persistence: killed, it comes back empty, as a Redis
 * restarted without a disk does. Never the shared one, which other tests are using.
 */
export class PrivateRedis {
  private child?: ChildProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, empty) on its port and waits until it answers. */
  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitFor(`redis-server on ${this.port}`, () => this.ping(), { timeoutMs: 10_000, intervalMs: 50 });
  }

  /** SIGKILL, as a crash: no goodbye to the clients, and (without persistence) no data afterwards. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Keys in the server now. */
  async size(): Promise<number> {
    const client = new Redis(this.url, {
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    try {
      await client.connect();
      return await client.dbsize();
    } finally {
      client.disconnect();
    }
  }

  private async ping(): Promise<boolean> {
    try {
      await this.size();
      return true;
    } catch {
      return false;
    }
  }
}
