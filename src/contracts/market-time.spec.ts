import {
  MarketCalendar,
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
