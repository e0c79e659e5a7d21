import {
  DEFAULT_NSE_HOLIDAYS,
  DEFAULT_NSE_SPECIAL_SESSIONS,
  MarketCalendar,
  parseSpecialSession,
} from '../contracts/market-time';
import { udfSessionFields, udfSessionFieldsOf } from './udf-session';

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
        '2025-10-21@13:45-14:45', // Muhurat on a listed holiday
        '2026-02-01@09:15-15:30', // Budget day, a Sunday
        '2024-11-01@18:00-19:00',
        '2023-11-12@18:15-19:15',
        '2022-10-24@18:15-19:15',
      ].map(parseSpecialSession),
    );
    expect(fields.session_holidays).toBe('20251225');
    expect(fields.corrections).toBe(
      '0915-1530:20260201;1345-1445:20251021;1800-1900:20241101;1815-1915:20221024,20231112',
    );
  });

  it("takes the service calendar's special sessions: the defaults' Muhurat hour and Budget days", () => {
    const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS);
    const fields = udfSessionFieldsOf(DEFAULT_NSE_HOLIDAYS, calendar);
    expect(fields.corrections).toContain('1345-1445:20251021');
    expect(fields.corrections).toMatch(/0915-1530:[0-9,]*20250201[0-9,]*20260201/);
    // Diwali 2025 is a listed holiday with a Muhurat session: it has a session, not the regular one.
    expect(fields.session_holidays.split(',')).not.toContain('20251021');
  });
});
