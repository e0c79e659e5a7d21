import { DEFAULT_NSE_HOLIDAYS } from '../contracts/market-time';
import { udfSessionFields } from './udf-session';

describe('udfSessionFields', () => {
  it('gives the regular session, the holidays as YYYYMMDD and no corrections without special sessions', () => {
    expect(udfSessionFields(['2025-11-05', '2025-10-21', '2025-11-05'], [])).toEqual({
      session: '0915-1530',
      session_holidays: '20251021,20251105',
      corrections: '',
    });
  });

  it('maps the whole default NSE list, sorted', () => {
    const fields = udfSessionFields(DEFAULT_NSE_HOLIDAYS, []);
    const days = fields.session_holidays.split(',');
    expect(days).toHaveLength(DEFAULT_NSE_HOLIDAYS.length);
    expect(days).toEqual([...days].sort());
    expect(days).toContain('20261225');
  });

  it('turns special sessions into corrections, grouping days with the same hours', () => {
    const fields = udfSessionFields(
      ['2025-10-21', '2025-12-25'],
      [
        { date: '2025-10-21', open: '13:45', close: '14:45' }, // Muhurat on a listed holiday
        { date: '2026-02-01', open: '09:15', close: '15:30' }, // Budget day, a Sunday
        { date: '2024-11-01', open: '18:00', close: '19:00' },
        { date: '2023-11-12', open: '18:15', close: '19:15' },
        { date: '2022-10-24', open: '18:15', close: '19:15' },
      ],
    );
    expect(fields.session_holidays).toBe('20251225');
    expect(fields.corrections).toBe(
      '0915-1530:20260201;1345-1445:20251021;1800-1900:20241101;1815-1915:20221024,20231112',
    );
  });

  it('puts two sessions of one day into one correction', () => {
    const fields = udfSessionFields(
      [],
      [
        { date: '2025-10-21', open: '18:15', close: '19:15' },
        { date: '2025-10-21', open: '09:15', close: '10:00' },
      ],
    );
    expect(fields.corrections).toBe('0915-1000,1815-1915:20251021');
  });

  it.each([
    [['2025-13-01'], [], /not a date/],
    [['2025-02-30'], [], /not a date/],
    [['20251105'], [], /not a date/],
    [[], [{ date: '2025-10-21', open: '9:15', close: '10:00' }], /not a time/],
    [[], [{ date: '2025-10-21', open: '24:00', close: '10:00' }], /not a time/],
    [[], [{ date: '2025-10-21', open: '19:15', close: '18:15' }], /before it opens/],
    [[], [{ date: 'x', open: '18:15', close: '19:15' }], /not a date/],
  ])('refuses malformed input %j %j', (holidays, specials, message) => {
    expect(() => udfSessionFields(holidays, specials)).toThrow(message);
  });
});
