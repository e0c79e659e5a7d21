import { backoff, retryUntilDone } from './backoff';

describe('backoff', () => {
  const schedule = { baseMs: 250, maxMs: 5000 };

  it('doubles from the base per attempt up to the ceiling', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map((attempt) => backoff(schedule, attempt))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });

  it('treats a negative attempt as the first and never overflows', () => {
    expect(backoff(schedule, -3)).toBe(250);
    expect(backoff({ baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER }, 10_000)).toBe(2 ** 30);
  });

  it('jitters over the upper half of the wait', () => {
    expect(backoff(schedule, 2, () => 0)).toBe(500);
    expect(backoff(schedule, 2, () => 1)).toBe(1000);
    expect(backoff(schedule, 2, () => 0.5)).toBe(750);
  });

  it('retries work until it succeeds, telling of the first failure only, and stops when aborted', async () => {
    const failures: string[] = [];
    let calls = 0;
    await retryUntilDone(
      () => (++calls < 3 ? Promise.reject(new Error(`down ${calls}`)) : Promise.resolve()),
      { baseMs: 1, maxMs: 2 },
      new AbortController().signal,
      (error) => failures.push(error.message),
    );
    expect(calls).toBe(3);
    expect(failures).toEqual(['down 1']);

    const stop = new AbortController();
    let tries = 0;
    await retryUntilDone(
      () => {
        if (++tries === 2) stop.abort();
        return Promise.reject(new Error('down'));
      },
      { baseMs: 1, maxMs: 1 },
      stop.signal,
      () => undefined,
    );
    expect(tries).toBe(2);
  });
});
