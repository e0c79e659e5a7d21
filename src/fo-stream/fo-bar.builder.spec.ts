import { FoBarBuilder } from './fo-bar.builder';
import { FO_LATE_RETENTION_MS } from './fo-stream.constants';
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

  it('bases the first tick seen on itself and never lowers the base within the day', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(0, 100, 5000), false);
    builder.add(tick(10, 100, 5300), false);
    builder.add(tick(20, 100, 200), false); // a drop: not a new base
    builder.add(tick(30, 100, 5260), false); // still below the day's highest: adds nothing
    builder.add(tick(40, 100, 5350), false);
    const [bar] = builder.closeDue(MINUTE + 60_000);
    expect(bar.volume).toBe(300 + 50);
  });

  it("takes the ticker's bogus 0 as unknown: it adds nothing and the next real total counts from the base", () => {
    const builder = new FoBarBuilder();
    builder.add(tick(10, 100, 500_000), false);
    builder.add(tick(40, 100, 500_050), false);
    builder.add(tick(70, 100, 0), false);
    builder.add(tick(80, 100, 500_100), false);
    expect(builder.closeAll().map((c) => c.volume)).toEqual([50, 50]);
  });

  it('adds nothing for a glitch below the base and counts the next total from the base', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(10, 100, 500_000), false);
    builder.add(tick(40, 100, 500_050), false);
    builder.add(tick(70, 100, 499_000), false);
    builder.add(tick(80, 100, 500_100), false);
    expect(builder.closeAll().map((c) => c.volume)).toEqual([50, 50]);
  });

  it('rebases on the first tick after more than a minute without one, instead of giving it the gap', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(10, 100, 500_000), false);
    builder.add(tick(40, 100, 500_050), false);
    // Three minutes without ticks (missed, or no trades): the total moved on meanwhile.
    builder.add(tick(4 * 60 + 5, 100, 520_000), false);
    builder.add(tick(4 * 60 + 30, 100, 520_030), false);
    expect(builder.closeAll().map((c) => [c.time.getTime() - MINUTE, c.volume])).toEqual([
      [0, 50],
      [4 * 60_000, 30],
    ]);
  });

  it('rebases after more than a minute of ticks without a usable total (zeros), as after a gap', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(10, 100, 500_000), false);
    builder.add(tick(40, 100, 500_050), false);
    for (let second = 60; second < 4 * 60; second += 20) builder.add(tick(second, 100, 0), false);
    builder.add(tick(4 * 60 + 5, 100, 520_000), false);
    builder.add(tick(4 * 60 + 30, 100, 520_030), false);
    const bars = builder.closeAll();
    expect(bars.map((c) => c.volume)).toEqual([50, 0, 0, 0, 30]);
  });

  it('counts from the first known total when the first ticks carry none', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(0, 100, 0), false);
    builder.add(tick(10, 100, 9000), false);
    builder.add(tick(20, 100, 9100), false);
    expect(builder.closeAll().map((c) => c.volume)).toEqual([100]);
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

  it('keeps a closed minute, and a late tick revises it into a new full bar', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(-5, 99, 1000), false);
    builder.add(tick(10, 100, 1100, { greeks: { ...NO_GREEKS, delta: 0.5 } }), false);
    builder.add(tick(40, 104, 1250), false);
    const [first] = builder.closeDue(MINUTE + 62_000).filter((c) => c.time.getTime() === MINUTE);
    expect(first).toMatchObject({ open: 100, high: 104, low: 100, close: 104, volume: 250 });
    expect(builder.openBars).toBe(0);
    expect(builder.retainedBars).toBe(2);
    expect(builder.takeRevised()).toEqual([]);

    // Late: the minute is closed, but the tick is the newest of its instrument.
    expect(builder.add(tick(58, 97, 1400, { oi: 1200 }), false)).toBe(true);
    expect(builder.add(tick(59, 103, 1450, { oi: null }), false)).toBe(true);
    const revised = builder.takeRevised();
    expect(revised).toHaveLength(1);
    expect(revised[0]).toMatchObject({
      time: new Date(MINUTE),
      open: 100,
      high: 104,
      low: 97,
      close: 103,
      volume: 450,
      oi: 1200,
      delta: 0.5,
    });
    // Handed out once; closing further minutes does not repeat the revised bar.
    expect(builder.takeRevised()).toEqual([]);
    expect(builder.closeDue(MINUTE + 63_000)).toEqual([]);
    expect(builder.openBars).toBe(0);
  });

  it('opens a retained bar for an instrument first seen late in a closed minute', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(1, 100, 0), false);
    builder.closeDue(MINUTE + 62_000);
    expect(builder.add(tick(30, 50, 0, { token: 202 }), false)).toBe(true);
    expect(builder.openBars).toBe(0);
    expect(builder.takeRevised()).toEqual([
      expect.objectContaining({ instrumentToken: 202, open: 50, close: 50 }),
    ]);
  });

  it("refuses a tick for a minute past the retention ('too_late') without folding it", () => {
    const builder = new FoBarBuilder();
    builder.add(tick(1, 100, 1000), false);
    const minuteEnd = MINUTE + 60_000;
    builder.closeDue(minuteEnd + FO_LATE_RETENTION_MS - 1);
    expect(builder.retainedBars).toBe(1);
    expect(builder.add(tick(59, 90, 1100), false)).toBe(true); // still retained
    expect(builder.closeDue(minuteEnd + FO_LATE_RETENTION_MS)).toEqual([
      // Dropping the minute hands out the revision not yet taken.
      expect.objectContaining({ low: 90, volume: 100 }),
    ]);
    expect(builder.retainedBars).toBe(0);
    // A quote after the pause: it rebases on the total it carries (the one already counted).
    const nextMinute = minuteEnd + FO_LATE_RETENTION_MS;
    expect(builder.add(tick(0, 100, 1100, { timeMs: nextMinute + 500 }), false)).toBe(true);
    expect(builder.add(tick(59, 80, 1200), false)).toBe(false);
    expect(builder.takeRevised()).toEqual([]);
    // The refused tick did not move the volume base: the next tick counts from 1100.
    builder.add(tick(0, 100, 1300, { timeMs: nextMinute + 1000 }), false);
    expect(builder.closeAll().map((c) => c.volume)).toEqual([200]);
  });

  it('holds at most the open and retained minutes of each instrument', () => {
    const builder = new FoBarBuilder();
    const instruments = 50;
    const keptMinutes = Math.ceil(FO_LATE_RETENTION_MS / 60_000) + 2;
    for (let m = 0; m < 30; m++) {
      for (let token = 1; token <= instruments; token++)
        builder.add(tick(m * 60 + 1, 100, m, { token }), false);
      builder.closeDue(MINUTE + (m + 1) * 60_000 + 2000);
      expect(builder.openBars + builder.retainedBars).toBeLessThanOrEqual(instruments * keptMinutes);
    }
    expect(builder.retainedBars).toBeGreaterThan(0);
  });

  it('hands out open bars and revised retained bars at shutdown', () => {
    const builder = new FoBarBuilder();
    builder.add(tick(1, 100, 1000), false);
    builder.add(tick(1, 50, 0, { token: 202 }), false);
    builder.closeDue(MINUTE + 62_000);
    builder.add(tick(59, 101, 1010), false); // revises token 101's closed minute
    builder.add(tick(61, 102, 1020), false); // opens the next minute
    const bars = builder.closeAll();
    expect(bars.map((c) => [c.instrumentToken, c.time.getTime(), c.volume])).toEqual([
      [101, MINUTE, 10],
      [101, MINUTE + 60_000, 10],
    ]);
    expect(builder.openBars).toBe(0);
  });
});
