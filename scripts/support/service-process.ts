import { ChildProcess, spawn } from 'node:child_process';
import { createServer, AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { waitFor } from './wait-for';

const ROOT = resolve(__dirname, '..', '..');

/** A TCP port that was free a moment ago (and is closed now): for "nothing listens here" tests too. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Whether something could listen on `port` now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, () => probe.close(() => done(true)));
  });
}

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** Its output so far (empty when it goes to `log`). */
  output(): string;
  exited: Promise<ServiceExit>;
  /**
   * Sends `signal` (unless it has exited) and resolves with the exit; SIGKILL follows after
   * `killAfterMs` when given.
   */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<ServiceExit & { ms: number }>;
}

export interface ServiceProcessOptions {
  /** The script to run (the service by default). */
  entry?: string;
  /** Resolves once GET /health/live answers (30 s at most). */
  waitForHttp?: boolean;
  /** Start from this process's environment; otherwise from PATH and APP_ENV=dev only. */
  inheritEnv?: boolean;
  /** A process group of its own, so that a Ctrl-C in the terminal does not reach it. */
  detached?: boolean;
  /** Where its output goes instead of being kept in memory. */
  log?: Writable;
}

/** Runs `entry` (the service by default) as its own process, the way it runs in production. */
export async function startServiceProcess(
  env: Record<string, string>,
  {
    entry = 'src/main.ts',
    waitForHttp = true,
    inheritEnv = false,
    detached = false,
    log,
  }: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort());
  const base = inheritEnv ? process.env : { PATH: process.env.PATH ?? '', APP_ENV: 'dev' };
  const child = spawn(process.execPath, ['-r', 'ts-node/register', entry], {
    cwd: ROOT,
    env: { ...base, ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let output = '';
  if (log) {
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
  } else {
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  }
  const exited = new Promise<ServiceExit>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  if (waitForHttp) {
    await waitFor(
      `service on ${url} (output so far: ${output.slice(-500)})`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`service exited with ${child.exitCode}: ${output.slice(-2000)}`);
        return (await fetch(`${url}/health/live`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }
  return {
    child,
    url,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM', killAfterMs) {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer =
        killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const result = await exited;
      clearTimeout(timer);
      return { ...result, ms: Date.now() - started };
    },
  };
}
