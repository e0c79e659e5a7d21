import { UpstreamHealth } from './upstream-health';

describe('UpstreamHealth', () => {
  let now = 0;
  const health = (): UpstreamHealth =>
    new UpstreamHealth({ samples: 10, minSamples: 4, maxAgeMs: 60_000, failureRatio: 0.25 }, () => now);

  beforeEach(() => (now = 1_000_000));

  it('blames the upstream while requests for other instruments fail too', () => {
    const upstream = health();
    for (const token of [1, 2, 3, 4, 5, 6]) {
      upstream.record(token, false);
      upstream.record(token, true);
    }
    expect(upstream.failingForOthers(99)).toBe(true);
  });

  it('blames the instrument when the others are answered', () => {
    const upstream = health();
    for (const token of [1, 2, 3, 4, 5, 6, 7, 8, 9]) upstream.record(token, true);
    upstream.record(5, false);
    upstream.record(99, false);
    upstream.record(99, false);
    expect(upstream.failingForOthers(99)).toBe(false);
  });

  it('says nothing without enough evidence, and never counts the instrument itself', () => {
    const upstream = health();
    upstream.record(1, false);
    upstream.record(2, false);
    expect(upstream.failingForOthers(99)).toBe(false);
    for (let i = 0; i < 20; i++) upstream.record(99, false);
    expect(upstream.failingForOthers(99)).toBe(false);
  });

  it('looks at the newest answers only', () => {
    const upstream = health();
    for (let token = 1; token <= 10; token++) upstream.record(token, false);
    for (let token = 11; token <= 20; token++) upstream.record(token, true);
    expect(upstream.failingForOthers(99)).toBe(false);
  });

  it('forgets answers older than its window', () => {
    const upstream = health();
    for (const token of [1, 2, 3, 4, 5, 6]) {
      upstream.record(token, false);
      upstream.record(token, true);
    }
    now += 61_000;
    expect(upstream.failingForOthers(99)).toBe(false);
  });
});
