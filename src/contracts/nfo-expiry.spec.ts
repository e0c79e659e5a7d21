import { DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS, MarketCalendar } from './market-time';
import { lastWeekdayOfMonth, monthlyExpiry, movedBackOverHolidays } from './nfo-expiry';

const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS);

describe('NSE monthly expiries', () => {
  it('finds the last weekday of a month', () => {
    expect(lastWeekdayOfMonth(2025, 11, 2)).toBe('2025-11-25');
    expect(lastWeekdayOfMonth(2025, 9, 2)).toBe('2025-09-30');
    expect(lastWeekdayOfMonth(2025, 8, 4)).toBe('2025-08-28');
    expect(lastWeekdayOfMonth(2024, 2, 4)).toBe('2024-02-29');
  });

  it('takes Tuesday from the September 2025 contracts and Thursday before', () => {
    expect(monthlyExpiry('NIFTY', 2025, 9, calendar)).toBe('2025-09-30');
    expect(monthlyExpiry('NIFTY', 2025, 8, calendar)).toBe('2025-08-28');
    expect(monthlyExpiry('FINNIFTY', 2025, 3, calendar)).toBe('2025-03-27');
    expect(monthlyExpiry('NIFTY', 2023, 6, calendar)).toBe('2023-06-29');
    expect(monthlyExpiry('BANKNIFTY', 2024, 6, calendar)).toBeUndefined();
  });

  it('moves back over holidays, and a special session is no expiry day', () => {
    expect(monthlyExpiry('NIFTY', 2026, 3, calendar)).toBe('2026-03-30');
    // Tuesday 21 October 2025 is a holiday with only the Muhurat hour: Monday 20th instead.
    expect(movedBackOverHolidays('2025-10-21', calendar)).toBe('2025-10-20');
    // A Saturday Budget session does not hold an expiry either.
    expect(movedBackOverHolidays('2025-02-01', calendar)).toBe('2025-01-31');
  });
});
