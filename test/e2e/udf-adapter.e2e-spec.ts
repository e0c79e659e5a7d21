import request from 'supertest';
import {
  DAY_MS,
  FixedClock,
  IST_OFFSET_MS,
  MarketCalendar,
  MINUTE_MS,
} from '../../src/contracts/market-time';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { InstrumentsService } from '../../src/market-data/instruments.service';
import { Candle } from '../../src/market-data/market-data.types';
import { UDF_RESOLUTION_INTERVALS, UdfResolution } from '../../src/udf/udf-format';
import { startTestApp, TestApp } from '../support/app-harness';
import { AdapterBar, UdfAdapterClient } from '../support/udf-adapter';

// Wednesday 2025-12-10 11:07:43 IST: the chart's clock, never on a whole minute.
const NOW = new Date('2025-12-10T05:37:43Z');
const NOW_S = NOW.getTime() / 1000;
const LONG = 13660418; // 16 sessions of minutes up to now
const OLD = 13660674; // two sessions that ended some 40 days ago: past the 1-minute lookback
const NONE = 13238786; // known, never traded

const RESOLUTIONS = ['1', '5', '15', '60', '1D'] as const;
const COUNTBACKS = [50, 300, 1_000, 10_000] as const;
/** Seconds per bar, as the library spaces its requests. */
const STEP: Record<(typeof RESOLUTIONS)[number], number> = {
  '1': 60,
  '5': 300,
  '15': 900,
  '60': 3600,
  '1D': 86_400,
};
/** The candles API's longest range per interval: one request covers every stored bar. */
const API_RANGE_DAYS: Record<string, number> = { '1m': 31, '5m': 92, '15m': 184, '1h': 366, '1d': 3660 };

function minutesOf(token: number, minutes: Date[]): Candle[] {
  return minutes
    .filter((_, i) => i % 11 !== 5) // minutes without a trade
    .map((time, i) => {
      const open = 100 + (i % 17) + 0.05 * (i % 4);
      return {
        instrumentToken: token,
        time,
        open,
        high: open + 2,
        low: open - 1.5,
        close: open + ((i % 5) - 2) * 0.25,
        volume: 75 * (1 + (i % 13)),
        oi: 100_000 + 75 * i,
        iv: null,
        delta: null,
        gamma: null,
        theta: null,
        vega: null,
        underlyingClose: null,
      };
    });
}

describe('the UDF datafeed, driven as TradingView’s adapter drives it', () => {
  const clock = new FixedClock(NOW.toISOString());
  let app: TestApp;
  let adapter: UdfAdapterClient;
  let oldLastMinute: Date;
  /** Every bar time (epoch ms, as the library holds them) of `token` before `to`, from the candles API. */
  const barTimes = new Map<string, number[]>();

  async function apiBarTimes(token: number, resolution: UdfResolution, to: number): Promise<number[]> {
    const key = `${token}/${resolution}/${to}`;
    const known = barTimes.get(key);
    if (known) return known;
    const interval = UDF_RESOLUTION_INTERVALS[resolution];
    const res = await request(app.url)
      .get(`/api/v1/instruments/${token}/candles`)
      .query({
        from: new Date(to * 1000 - API_RANGE_DAYS[interval] * DAY_MS).toISOString(),
        to: new Date(to * 1000).toISOString(),
        interval,
      })
      .expect(200);
    const shift = interval === '1d' ? IST_OFFSET_MS : 0;
    const times = (res.body.candles as { time: string }[]).map((c) => Date.parse(c.time) + shift);
    barTimes.set(key, times);
    return times;
  }

  beforeAll(async () => {
    app = await startTestApp({ clock });
    adapter = new UdfAdapterClient(`${app.url}/udf`);
    const calendar = app.app.get(MarketCalendar);
    const sessions = calendar.recentSessions(NOW, 16);
    const upToNow = calendar.sessionMinutes(sessions[0].open, new Date(NOW.getTime() + MINUTE_MS));
    const old = calendar.recentSessions(new Date(NOW.getTime() - 40 * DAY_MS), 2);
    const oldMinutes = minutesOf(OLD, calendar.sessionMinutes(old[0].open, old[1].close));
    oldLastMinute = oldMinutes[oldMinutes.length - 1].time;
    await app.app.get(InstrumentsService).record(
      [
        { instrumentToken: LONG, tradingsymbol: 'NIFTY25DEC24500CE', segment: 'NFO-OPT', tickSize: 0.05 },
        { instrumentToken: OLD, tradingsymbol: 'NIFTY25DEC24500PE', segment: 'NFO-OPT', tickSize: 0.05 },
        { instrumentToken: NONE, tradingsymbol: 'NIFTY25DECFUT', segment: 'NFO-FUT', tickSize: 0.1 },
      ],
      'instrument_list',
    );
    await app.app.get(CandlesRepository).upsertHistory([...minutesOf(LONG, upToNow), ...oldMinutes]);
  });

  afterAll(async () => {
    await app?.close();
  });

  const times = (bars: AdapterBar[]): number[] => bars.map((bar) => bar.time);

  describe.each(RESOLUTIONS)('at resolution %s', (resolution) => {
    it.each(COUNTBACKS)(
      'loads the newest countback=%d bars with to = now in seconds, then pages back to the first bar and stops',
      async (countback) => {
        const all = await apiBarTimes(LONG, resolution, NOW_S);
        expect(all.length).toBeGreaterThan(10);
        const first = await adapter.getBars(String(LONG), resolution, {
          from: NOW_S - countback * STEP[resolution],
          to: NOW_S,
          countBack: countback,
          firstDataRequest: true,
        });
        expect(first.meta).toEqual({ noData: false });
        expect(times(first.bars)).toEqual(all.slice(-countback));

        // Scrolling back: the library asks for the bars before the oldest it holds, until noData.
        let held = first.bars;
        for (let page = 0; page < 200; page++) {
          const oldest = held[0].time / 1000;
          const next = await adapter.getBars(String(LONG), resolution, {
            from: oldest - countback * STEP[resolution],
            to: oldest,
            countBack: countback,
            firstDataRequest: false,
          });
          if (next.meta.noData) {
            // Nothing earlier is stored: no nextTime, so the library stops asking.
            expect(next.meta.nextTime).toBeUndefined();
            break;
          }
          expect(next.bars.length).toBeLessThanOrEqual(countback);
          held = [...next.bars, ...held];
        }
        expect(times(held)).toEqual(all);
      },
    );

    it('polls as the realtime updater does (to = now in whole seconds, countBack 2) and gets the two newest bars', async () => {
      const all = await apiBarTimes(LONG, resolution, NOW_S);
      const polled = await adapter.poll(String(LONG), resolution, NOW_S);
      expect(times(polled.bars)).toEqual(all.slice(-2));
      // The forming bar is the one holding the current minute.
      expect(polled.bars[1].time).toBeLessThanOrEqual(NOW.getTime());
    });

    it('answers no_data and no nextTime for an instrument never traded, first request and poll alike', async () => {
      for (const countback of COUNTBACKS) {
        const answer = await adapter.getBars(String(NONE), resolution, {
          from: NOW_S - countback * STEP[resolution],
          to: NOW_S,
          countBack: countback,
          firstDataRequest: true,
        });
        expect(answer).toEqual({ bars: [], meta: { noData: true, nextTime: undefined } });
      }
      expect(await adapter.poll(String(NONE), resolution, NOW_S)).toEqual({
        bars: [],
        meta: { noData: true, nextTime: undefined },
      });
    });

    it('gives an instrument with less history than asked what there is, never an error', async () => {
      const all = await apiBarTimes(OLD, resolution, NOW_S);
      // Two sessions: fewer bars than the largest countback at every resolution.
      expect(all.length).toBeLessThan(COUNTBACKS[COUNTBACKS.length - 1]);
      for (const countback of COUNTBACKS) {
        const answer = await adapter.getBars(String(OLD), resolution, {
          from: NOW_S - countback * STEP[resolution],
          to: NOW_S,
          countBack: countback,
          firstDataRequest: true,
        });
        if (answer.meta.noData) {
          // Older than this resolution's lookback: the metadata leads the library to the newest bar.
          expect(all).toEqual([]);
          expect(answer.meta.nextTime).toBeDefined();
        } else {
          expect(times(answer.bars)).toEqual(all.slice(-countback));
        }
      }
    });

    it('answers an empty window after the data with no_data and a nextTime in milliseconds that leads to the newest bar', async () => {
      const newest = oldLastMinute.getTime();
      // Without countback (UDF clients other than the adapter), from a day after the data to now.
      const from = Math.max(newest / 1000 + 86_400, NOW_S - 30 * 86_400);
      const empty = await adapter.getBars(String(OLD), resolution, { from, to: NOW_S });
      expect(empty.bars).toEqual([]);
      expect(empty.meta.noData).toBe(true);
      const nextTime = empty.meta.nextTime!;
      // HistoryMetadata.nextTime is epoch milliseconds: the newest bar, weeks ago, not January 1970.
      expect(new Date(nextTime).toISOString().slice(0, 4)).toBe('2025');
      expect(nextTime).toBeLessThanOrEqual(newest + (resolution === '1D' ? IST_OFFSET_MS : 0));
      expect(nextTime).toBeGreaterThan(newest - DAY_MS);
      // The library's next request ends just after nextTime: its last bar is the bar at nextTime.
      const jumped = await adapter.getBars(String(OLD), resolution, {
        from: nextTime / 1000 - 10 * STEP[resolution],
        to: nextTime / 1000 + STEP[resolution],
        countBack: 10,
        firstDataRequest: false,
      });
      expect(jumped.meta.noData).toBe(false);
      expect(jumped.bars[jumped.bars.length - 1].time).toBe(nextTime);
    });
  });

  it('leads the library from a 1-minute chart whose lookback holds nothing to the newest bar, by nextTime in ms', async () => {
    const polled = await adapter.poll(String(OLD), '1', NOW_S);
    expect(polled.meta).toEqual({ noData: true, nextTime: oldLastMinute.getTime() });
    const first = await adapter.getBars(String(OLD), '1', {
      from: NOW_S - 300 * 60,
      to: NOW_S,
      countBack: 300,
      firstDataRequest: true,
    });
    expect(first.meta).toEqual({ noData: true, nextTime: oldLastMinute.getTime() });
    const jumped = await adapter.getBars(String(OLD), '1', {
      from: first.meta.nextTime! / 1000 - 300 * 60,
      to: first.meta.nextTime! / 1000 + 60,
      countBack: 300,
      firstDataRequest: false,
    });
    expect(jumped.bars).toHaveLength(300);
    expect(jumped.bars[299].time).toBe(oldLastMinute.getTime());
  });

  it('accepts firstDataRequest, which later copies of the adapter forward', async () => {
    const forwarding = new UdfAdapterClient(`${app.url}/udf`, true);
    const first = await forwarding.getBars(String(LONG), '5', {
      from: NOW_S - 300 * 300,
      to: NOW_S,
      countBack: 300,
      firstDataRequest: true,
    });
    expect(first.bars).toHaveLength(300);
    const polled = await forwarding.poll(String(LONG), '5', NOW_S);
    expect(polled.bars).toHaveLength(2);
    expect(forwarding.sent[0]).toContain('&countback=300&firstDataRequest=true');
    expect(forwarding.sent[1]).toContain('&countback=2&firstDataRequest=false');
  });
});
