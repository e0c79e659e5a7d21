import { FoBarBuilder, mergeParts } from './fo-bar.builder';
import { FoTick, GreekValues } from './fo-tick.parser';

const MINUTE = Date.parse('2025-11-03T04:00:00Z');
const NO_GREEKS: GreekValues = { iv: null, delta: null, gamma: null, theta: null, vega: null };

function tick(
  secondsIntoMinute: number,
  price: number,
  dayVolume: number | null,
  extra: Partial<FoTick> = {},
): FoTick {
  return {
    token: 101,
    timeMs: MINUTE + secondsIntoMinute * 1000,
    price,
    dayVolume,
    oi: 1000,
    greeks: { ...NO_GREEKS },
    symbol: 'NIFTY',
    instrument: () => ({ instrumentToken: 101 }),
    ...extra,
  };
}

describe('FoBarBuilder', () => {
  it('builds OHLC, the day-volume increase, the last OI and the last non-null greeks', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(-5, 99, 1000), false); // previous minute: the base of the volume
    builder.add(tick(1, 100, 1000, { oi: 5000, greeks: { ...NO_GREEKS, iv: 0.2, delta: 0.5 } }), false);
    builder.add(tick(20, 104, 1300, { oi: 5100 }), false);
    builder.add(tick(30, 97, 1450, { oi: 5200, greeks: { ...NO_GREEKS, delta: 0.4 } }), false);
    builder.add(tick(59, 101, 1600, { oi: 5150 }), false);
    const closed = builder.closeDue(MINUTE + 60_000);
    const bar = closed.find((c) => c.time.getTime() === MINUTE);
    expect(bar).toMatchObject({
      open: 100,
      high: 104,
      low: 97,
      close: 101,
      volume: 600,
      oi: 5150,
      iv: 0.2,
      delta: 0.4,
    });
    expect(bar?.gamma).toBeNull();
    expect(builder.openBars).toBe(0);
  });

  it('bases the first tick seen on itself and never goes negative on a reset', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(0, 100, 5000), false);
    builder.add(tick(10, 100, 5300), false);
    builder.add(tick(20, 100, 200), false); // upstream reset: 200 is the new base
    builder.add(tick(30, 100, 260), false);
    const [bar] = builder.closeDue(MINUTE + 60_000);
    expect(bar.volume).toBe(300 + 60);
  });

  it('restarts the day volume on a new IST day even when the total is higher', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(0, 100, 5000), false);
    const nextDay = MINUTE + 86_400_000;
    builder.add(tick(0, 100, 9000, { timeMs: nextDay }), false);
    builder.add(tick(0, 100, 9100, { timeMs: nextDay + 1000 }), false);
    const bars = builder.closeAll();
    expect(bars.find((c) => c.time.getTime() === nextDay)?.volume).toBe(100);
  });

  it('closes a minute only after it ends and keeps instruments apart', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(5, 100, 0), false);
    builder.add(tick(5, 50, 0, { token: 202 }), false);
    builder.add(tick(65, 101, 0), false);
    expect(builder.closeDue(MINUTE + 59_999)).toHaveLength(0);
    expect(
      builder
        .closeDue(MINUTE + 60_000)
        .map((c) => c.instrumentToken)
        .sort(),
    ).toEqual([101, 202]);
    expect(builder.openBars).toBe(1);
  });

  it('attaches the latest underlying level to option bars', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(1, 24500, 0, { token: 256265, oi: null }), true);
    builder.add(tick(2, 100, 0), false);
    const bars = builder.closeAll();
    expect(bars.find((c) => c.instrumentToken === 101)?.underlyingClose).toBe(24500);
    expect(bars.find((c) => c.instrumentToken === 256265)?.underlyingClose).toBeNull();
  });

  it('merges a late part like the database does', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(1, 100, 0), false);
    const [first] = builder.closeAll();
    const merged = mergeParts(first, {
      ...first,
      open: 90,
      high: 120,
      low: 95,
      close: 110,
      volume: 75,
      oi: null,
    });
    expect(merged).toMatchObject({ open: 100, high: 120, low: 95, close: 110, volume: 75, oi: 1000 });
  });
});
