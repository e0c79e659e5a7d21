import { ChildProcess, spawn } from 'node:child_process';
import { createServer, AddressInfo } from 'node:net';
import { resolve } from 'node:path';
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

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** Runs `entry` (the service by default) as its own process, the way it runs in production. */
export async function startServiceProcess(
  env: Record<string, string>,
  { entry = 'src/main.ts', waitForHttp = true }: { entry?: string; waitForHttp?: boolean } = {},
): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn(process.execPath, ['-r', 'ts-node/register', entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', APP_ENV: 'dev', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
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
    async stop(signal = 'SIGTERM') {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const result = await exited;
      return { ...result, ms: Date.now() - started };
    },
  };
}
