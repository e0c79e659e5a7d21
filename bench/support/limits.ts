import { JobsOptions, Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// The physical limits every benchmark reports beside its own figure, measured in the same run
// because this machine is shared and noisy.

export interface RateResult {
  count: number;
  seconds: number;
  perSecond: number;
}

/**
 * How fast a bare ioredis subscriber receives `count` messages that a second connection publishes
 * as fast as Redis takes them (pipelined), with payloads like `sample`.
 */
export async function rawRedisReceiveRate(
  redisUrl: string,
  channel: string,
  sample: string,
  count: number,
): Promise<RateResult> {
  const subscriber = new Redis(redisUrl);
  const publisher = new Redis(redisUrl);
  try {
    let received = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    subscriber.on('message', () => {
      if (++received === count) resolveDone();
    });
    await subscriber.subscribe(channel);
    const started = process.hrtime.bigint();
    for (let sent = 0; sent < count; sent += 1000) {
      const pipeline = publisher.pipeline();
      for (let i = sent; i < Math.min(count, sent + 1000); i++) pipeline.publish(channel, sample);
      await pipeline.exec();
    }
    await done;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { count, seconds, perSecond: count / seconds };
  } finally {
    subscriber.disconnect();
    publisher.disconnect();
  }
}

/** Rows per second of a plain `COPY ... FROM STDIN` of `rows` CSV lines into `table`. */
export async function rawCopyRate(
  databaseUrl: string,
  table: string,
  columns: string[],
  rows: string[],
): Promise<RateResult> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const started = process.hrtime.bigint();
    const stream = client.query(
      copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`),
    );
    await pipeline(Readable.from(chunked(rows)), stream);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { count: rows.length, seconds, perSecond: rows.length / seconds };
  } finally {
    await client.end();
  }
}

/**
 * How fast BullMQ itself adds `count` jobs shaped like `job(i)` with `addBulk` in batches of 1,000 into
 * a paused queue of its own (the Lua scripts in Redis are most of the cost), then removes them.
 */
export async function rawQueueAddRate(
  redisUrl: string,
  prefix: string,
  count: number,
  job: (i: number) => { name: string; data: object; opts: JobsOptions },
): Promise<RateResult> {
  const queue = new Queue('raw-add', { connection: { url: redisUrl }, prefix });
  try {
    await queue.pause();
    const started = process.hrtime.bigint();
    for (let sent = 0; sent < count; sent += 1000)
      await queue.addBulk(Array.from({ length: Math.min(1000, count - sent) }, (_, i) => job(sent + i)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { count, seconds, perSecond: count / seconds };
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

function* chunked(rows: string[]): Generator<string> {
  for (let i = 0; i < rows.length; i += 5000) yield rows.slice(i, i + 5000).join('\n') + '\n';
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** One line per figure: `name  value unit  (limit: L unit, ratio R)`. */
export function report(
  name: string,
  value: number,
  unit: string,
  limit?: { value: number; unit: string; label: string },
): string {
  const line = `${name.padEnd(44)} ${value.toFixed(2).padStart(12)} ${unit}`;
  if (!limit) return line;
  return `${line}   ${limit.label}: ${limit.value.toFixed(2)} ${limit.unit}, ratio ${(value / limit.value).toFixed(3)}`;
}
