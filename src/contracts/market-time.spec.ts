import {
  DEFAULT_NSE_HOLIDAYS,
  DEFAULT_NSE_SPECIAL_SESSIONS,
  MarketCalendar,
  formatSpecialSession,
  parseSpecialSession,
  FixedClock,
  floorToMinute,
  istDateOf,
  parseUpstreamTime,
  toIstIso,
  toIstWallClock,
  SESSION_MINUTES,
} from './market-time';

describe('market time', () => {
  const calendar = new MarketCalendar(['2025-11-05']);

  it('maps 09:15 IST to 03:45Z and back', () => {
    const open = calendar.sessionOf('2025-11-03').open;
    expect(open.toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(toIstIso(open)).toBe('2025-11-03T09:15:00+05:30');
    expect(toIstWallClock(open)).toBe('2025-11-03 09:15:00');
  });

  it('parses both upstream offset forms and rejects zone-less text', () => {
    expect(parseUpstreamTime('2025-11-03T09:15:00+05:30').toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(parseUpstreamTime('2025-11-03T09:15:00+0530').toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(parseUpstreamTime('2025-11-03T03:45:00Z').toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(() => parseUpstreamTime('2025-11-03 09:15:00')).toThrow('without offset');
    expect(() => parseUpstreamTime('garbage')).toThrow();
  });

  it('counts 375 minutes in a session, the last starting at 15:29 IST', () => {
    const { open, close } = calendar.sessionOf('2025-11-03');
    const minutes = calendar.sessionMinutes(open, close);
    expect(minutes).toHaveLength(SESSION_MINUTES);
    expect(SESSION_MINUTES).toBe(375);
    expect(toIstIso(minutes[minutes.length - 1])).toBe('2025-11-03T15:29:00+05:30');
  });

  it('knows weekends and holidays', () => {
    expect(calendar.isTradingDay('2025-11-01')).toBe(false); // Saturday
    expect(calendar.isTradingDay('2025-11-02')).toBe(false); // Sunday
    expect(calendar.isTradingDay('2025-11-05')).toBe(false); // holiday
    expect(calendar.isTradingDay('2025-11-04')).toBe(true);
    expect(calendar.isSessionMinute(new Date('2025-11-03T03:44:00Z'))).toBe(false);
    expect(calendar.isSessionMinute(new Date('2025-11-03T03:45:00Z'))).toBe(true);
    expect(calendar.isSessionMinute(new Date('2025-11-03T09:59:00Z'))).toBe(true);
    expect(calendar.isSessionMinute(new Date('2025-11-03T10:00:00Z'))).toBe(false);
  });

  it('finds the last sessions from a Sunday, skipping the holiday', () => {
    const sunday = new Date('2025-11-09T06:00:00Z');
    const sessions = calendar.recentSessions(sunday, 5).map((s) => s.date);
    expect(sessions).toEqual(['2025-10-31', '2025-11-03', '2025-11-04', '2025-11-06', '2025-11-07']);
    expect(calendar.lookbackStart(sunday, 5).toISOString()).toBe('2025-10-31T03:45:00.000Z');
  });

  it('counts today only once its session has opened', () => {
    const beforeOpen = new Date('2025-11-07T03:00:00Z');
    expect(calendar.recentSessions(beforeOpen, 1).map((s) => s.date)).toEqual(['2025-11-06']);
    const afterOpen = new Date('2025-11-07T04:00:00Z');
    expect(calendar.recentSessions(afterOpen, 1).map((s) => s.date)).toEqual(['2025-11-07']);
  });

  it('uses IST calendar days near midnight', () => {
    expect(istDateOf(new Date('2025-11-03T18:29:59Z'))).toBe('2025-11-03');
    expect(istDateOf(new Date('2025-11-03T18:30:00Z'))).toBe('2025-11-04');
  });

  it('offers a fixed clock that only moves when told', () => {
    const clock = new FixedClock('2025-11-03T03:45:30Z');
    expect(floorToMinute(clock.now()).toISOString()).toBe('2025-11-03T03:45:00.000Z');
    clock.advance(60_000);
    expect(clock.now().toISOString()).toBe('2025-11-03T03:46:30.000Z');
  });
});

describe('special sessions', () => {
  const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS);
  const ist = (text: string): Date => new Date(text);

  it('reads and writes YYYY-MM-DD@HH:MM-HH:MM, refusing anything else with the reason', () => {
    expect(parseSpecialSession('2025-10-21@13:45-14:45')).toEqual({
      date: '2025-10-21',
      openMinute: 13 * 60 + 45,
      closeMinute: 14 * 60 + 45,
    });
    expect(formatSpecialSession(parseSpecialSession(' 2026-02-01@09:15-15:30 '))).toBe(
      '2026-02-01@09:15-15:30',
    );
    expect(() => parseSpecialSession('2025-10-21 13:45-14:45')).toThrow('is not YYYY-MM-DD@HH:MM-HH:MM');
    expect(() => parseSpecialSession('2025-02-30@09:15-15:30')).toThrow('not a calendar date');
    expect(() => parseSpecialSession('2025-10-21@14:45-13:45')).toThrow('close must come after the open');
    expect(() => parseSpecialSession('2025-10-21@13:45-13:45')).toThrow('close must come after the open');
    expect(() => parseSpecialSession('2025-10-21@13:61-14:45')).toThrow('not a time of day');
    expect(() => parseSpecialSession('2025-10-21@23:00-24:30')).toThrow();
    expect(() => new MarketCalendar([], ['2025-10-21@13:45-14:45', '2025-10-21@18:00-19:00'])).toThrow(
      'two special sessions on 2025-10-21',
    );
  });

  it('opens a listed holiday for its Muhurat hour only, with its own minute count', () => {
    // 21 October 2025: Diwali Laxmi Pujan, a holiday with Muhurat trading 13:45-14:45 IST.
    expect(calendar.isTradingDay('2025-10-21')).toBe(true);
    const session = calendar.sessionOf('2025-10-21');
    expect(session).toMatchObject({ special: true });
    expect(toIstIso(session.open)).toBe('2025-10-21T13:45:00+05:30');
    expect(toIstIso(session.close)).toBe('2025-10-21T14:45:00+05:30');
    const minutes = calendar.sessionMinutes(
      ist('2025-10-21T00:00:00+05:30'),
      ist('2025-10-22T00:00:00+05:30'),
    );
    expect(minutes).toHaveLength(60);
    expect(toIstIso(minutes[0])).toBe('2025-10-21T13:45:00+05:30');
    expect(toIstIso(minutes[59])).toBe('2025-10-21T14:44:00+05:30');
    expect(calendar.isSessionMinute(ist('2025-10-21T09:15:00+05:30'))).toBe(false);
    expect(calendar.isSessionMinute(ist('2025-10-21T13:44:00+05:30'))).toBe(false);
    expect(calendar.isSessionMinute(ist('2025-10-21T13:45:00+05:30'))).toBe(true);
    expect(calendar.isSessionMinute(ist('2025-10-21T14:45:00+05:30'))).toBe(false);
    expect(calendar.currentSession(ist('2025-10-21T14:00:10+05:30'))?.date).toBe('2025-10-21');
    expect(calendar.currentSession(ist('2025-10-21T15:00:00+05:30'))).toBeUndefined();
    // The next day (Balipratipada) stays closed.
    expect(calendar.isTradingDay('2025-10-22')).toBe(false);
  });

  it('opens a weekend Budget day with regular hours, in the lookback and the gap minutes', () => {
    // Sunday 1 February 2026, Union Budget; 26 January (Monday) is Republic Day.
    expect(calendar.isTradingDay('2026-02-01')).toBe(true);
    expect(calendar.isTradingDay('2026-01-31')).toBe(false);
    const midday = ist('2026-02-01T12:00:00+05:30');
    expect(calendar.recentSessions(midday, 5).map((s) => s.date)).toEqual([
      '2026-01-27',
      '2026-01-28',
      '2026-01-29',
      '2026-01-30',
      '2026-02-01',
    ]);
    expect(calendar.lookbackStart(midday, 5).toISOString()).toBe('2026-01-27T03:45:00.000Z');
    expect(
      calendar.sessionMinutes(ist('2026-01-31T00:00:00+05:30'), ist('2026-02-02T00:00:00+05:30')),
    ).toHaveLength(SESSION_MINUTES);
    // Saturday 1 February 2025, Union Budget.
    expect(calendar.isSessionMinute(ist('2025-02-01T09:15:00+05:30'))).toBe(true);
    expect(calendar.sessionOf('2025-02-01').special).toBe(true);
    expect(calendar.sessionOf('2025-02-03').special).toBe(false);
  });

  it('opens Sunday 8 November 2026 (Diwali Laxmi Pujan) for its Muhurat hour, not the Saturday before', () => {
    expect(calendar.isTradingDay('2026-11-08')).toBe(true);
    expect(calendar.sessionOf('2026-11-08')).toMatchObject({ special: true });
    expect(calendar.isSessionMinute(ist('2026-11-08T18:30:00+05:30'))).toBe(true);
    expect(calendar.isSessionMinute(ist('2026-11-08T09:15:00+05:30'))).toBe(false);
    expect(calendar.isTradingDay('2026-11-07')).toBe(false);
    expect(calendar.isSessionMinute(ist('2026-11-07T18:30:00+05:30'))).toBe(false);
    expect(
      calendar.sessionMinutes(ist('2026-11-07T00:00:00+05:30'), ist('2026-11-09T00:00:00+05:30')),
    ).toHaveLength(60);
    // Balipratipada, the Tuesday after, stays closed.
    expect(calendar.isTradingDay('2026-11-10')).toBe(false);
  });

  it('knows 15 January 2026 as a holiday and finds the newest closed session', () => {
    expect(calendar.isTradingDay('2026-01-15')).toBe(false);
    expect(calendar.lastCompleteSession(ist('2026-01-16T12:00:00+05:30'))?.date).toBe('2026-01-14');
    expect(calendar.lastCompleteSession(ist('2026-01-16T15:30:00+05:30'))?.date).toBe('2026-01-16');
    expect(calendar.lastCompleteSession(ist('2025-10-21T15:00:00+05:30'))?.date).toBe('2025-10-21');
  });

  it('lists the sessions of a window that ends on the last day an instant may have (9999-12-31 IST)', () => {
    const sessions = calendar.sessionsBetween(
      new Date('9999-12-29T00:00:00Z'),
      new Date('9999-12-31T18:29:59.999Z'),
    );
    // 29 and 30 December 9999 are a Wednesday and a Thursday, the 31st a Friday.
    expect(sessions.map((session) => session.date)).toEqual(['9999-12-29', '9999-12-30', '9999-12-31']);
  });
});
