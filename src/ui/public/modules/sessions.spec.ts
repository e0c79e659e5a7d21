import {
  DEFAULT_NSE_HOLIDAYS,
  DEFAULT_NSE_SPECIAL_SESSIONS,
  MarketCalendar,
} from '../../../contracts/market-time';
import { Session } from './api.js';
import { sessionSlots } from './sessions.js';

const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS);
const s = (iso: string): number => Date.parse(iso) / 1000;
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The sessions as the candles API lists them with sessions=true. */
function sessionsOf(from: string, to: string): Session[] {
  return calendar.sessionsBetween(new Date(from), new Date(to)).map((session) => ({
    date: session.date,
    open: session.open.toISOString(),
    close: session.close.toISOString(),
  }));
}

describe("the page's time axis from the API's sessions", () => {
  // Thursday 6 November 2025 11:00:30 IST, five sessions back (the 5th a holiday, a weekend between).
  const from = '2025-10-30T03:45:00.000Z';
  const to = '2025-11-06T05:30:30.000Z';
  const sessions = sessionsOf(from, to);

  it("has a 1m slot for every session minute of the window, the service's calendar's own", () => {
    const slots = sessionSlots(sessions, '1m', s(from), s(to));
    const minutes = calendar.sessionMinutes(new Date(from), new Date(to)).map((m) => m.getTime() / 1000);
    expect(slots).toEqual(minutes);
    // Four whole sessions and 09:15 to 11:00 of the fifth.
    expect(slots).toHaveLength(4 * 375 + 106);
  });

  it('buckets minutes from 09:15 IST at intraday widths and by IST day at 1d', () => {
    const quarter = sessionSlots(sessions, '15m', s(from), s(to));
    // 25 buckets a session (09:15 to 15:15), and 09:15 to 11:00 of the fifth (8 buckets).
    expect(quarter).toHaveLength(4 * 25 + 8);
    expect(iso(quarter[0])).toBe('2025-10-30T03:45:00.000Z');
    expect(iso(quarter[quarter.length - 1])).toBe('2025-11-06T05:30:00.000Z');
    expect(sessionSlots(sessions, '1h', s(from), s(to)).slice(0, 7).map(iso)).toEqual([
      '2025-10-30T03:45:00.000Z',
      '2025-10-30T04:45:00.000Z',
      '2025-10-30T05:45:00.000Z',
      '2025-10-30T06:45:00.000Z',
      '2025-10-30T07:45:00.000Z',
      '2025-10-30T08:45:00.000Z',
      '2025-10-30T09:45:00.000Z', // 15:15 IST, the last quarter hour of the session
    ]);
    expect(sessionSlots(sessions, '1d', s(from), s(to)).map(iso)).toEqual([
      '2025-10-29T18:30:00.000Z',
      '2025-10-30T18:30:00.000Z',
      '2025-11-02T18:30:00.000Z',
      '2025-11-03T18:30:00.000Z',
      '2025-11-05T18:30:00.000Z',
    ]);
  });

  it('places a special session by its own hours, on a day the weekday rules would close', () => {
    // Diwali 2025: Muhurat trading 13:45-14:45 IST on a listed holiday; the 22nd is a holiday.
    const diwali = sessionsOf('2025-10-20T18:30:00Z', '2025-10-22T18:30:00Z');
    expect(diwali.map((session) => session.date)).toEqual(['2025-10-21']);
    const minutes = sessionSlots(diwali, '1m', s('2025-10-20T18:30:00Z'), s('2025-10-22T18:30:00Z'));
    expect(minutes).toHaveLength(60);
    expect(iso(minutes[0])).toBe('2025-10-21T08:15:00.000Z');
    // 13:45 and 14:44 fall in the 13:15 and 14:15 hour buckets.
    expect(sessionSlots(diwali, '1h', s('2025-10-20T18:30:00Z'), s('2025-10-22T18:30:00Z')).map(iso)).toEqual(
      ['2025-10-21T07:45:00.000Z', '2025-10-21T08:45:00.000Z'],
    );
  });

  it('starts at the first whole minute of a window that starts inside one', () => {
    const slots = sessionSlots(sessions, '1m', s('2025-11-06T05:29:30Z'), s(to));
    expect(slots.map(iso)).toEqual(['2025-11-06T05:30:00.000Z']);
  });
});
