import {
  isCalendarDate,
  isPrintableText,
  MAX_INSTANT_MS,
  parseDecimalInteger,
  parseInstant,
} from './strict-values';

describe('parseInstant', () => {
  it('reads instants with Z or an offset, seconds and milliseconds optional', () => {
    expect(parseInstant('2025-11-03T09:15:00+05:30')?.toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(parseInstant('2025-11-03T03:45:00Z')?.toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(parseInstant('2025-11-03T03:45Z')?.toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(parseInstant('2025-11-03T03:45:00.5Z')?.toISOString()).toBe('2025-11-03T03:45:00.500Z');
    expect(parseInstant('2025-11-02T22:15:00-05:30')?.toISOString()).toBe('2025-11-03T03:45:00.000Z');
    expect(parseInstant('9999-12-31T23:59:59.999+05:30')?.getTime()).toBe(MAX_INSTANT_MS);
    expect(parseInstant('9999-12-31T18:29:59.999Z')?.getTime()).toBe(MAX_INSTANT_MS);
  });

  it('agrees with Date.parse on everything it accepts', () => {
    for (const text of ['2025-11-03T09:15:00+05:30', '2024-02-29T23:59:59.999-12:00', '1970-01-01T00:00Z'])
      expect(parseInstant(text)?.getTime()).toBe(Date.parse(text));
  });

  it.each([
    ['a week date', '2025-W01-1'],
    ['an ordinal date', '2025-123'],
    ['the basic format', '20251103T0915'],
    ['a time without an offset (read in the server zone)', '2025-11-03T09:15:00'],
    ['a date alone', '2025-11-03'],
    ['a day that does not exist', '2025-02-30T00:00:00Z'],
    ['a month that does not exist', '2025-13-01T00:00:00Z'],
    ['hour 24', '2025-11-03T24:00:00Z'],
    ['minute 60', '2025-11-03T09:60:00Z'],
    ['a leap second', '2025-11-03T09:15:60Z'],
    ['an offset without a colon', '2025-11-03T09:15:00+0530'],
    ['an offset beyond 14 h', '2025-11-03T09:15:00+15:00'],
    ['more than three fraction digits', '2025-11-03T09:15:00.1234Z'],
    ['a year beyond 9999 in UTC', '9999-12-31T23:00:00-05:00'],
    ['a year beyond 9999 in IST (the date of the market day)', '9999-12-31T18:30:00Z'],
    ['a year before 1970', '1969-12-31T23:59:59Z'],
    ['an expanded year', '+010000-01-01T00:00:00Z'],
    ['surrounding spaces', ' 2025-11-03T09:15:00Z'],
    ['a lower-case t', '2025-11-03t09:15:00Z'],
    ['not a string', 1762141500000],
  ])('refuses %s', (_what, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });
});

describe('isCalendarDate', () => {
  it('accepts dates that exist', () => {
    expect(isCalendarDate('2025-11-25')).toBe(true);
    expect(isCalendarDate('2024-02-29')).toBe(true);
  });

  it.each([
    '2025-13-45',
    '2025-02-29',
    '2025-00-10',
    '2025-1-5',
    '25-11-25',
    '2025-11-25T00:00:00Z',
    20251125,
  ])('refuses %p', (text) => expect(isCalendarDate(text)).toBe(false));
});

describe('parseDecimalInteger', () => {
  it('reads plain decimal digits', () => {
    expect(parseDecimalInteger('0')).toBe(0);
    expect(parseDecimalInteger('13660418')).toBe(13660418);
    expect(parseDecimalInteger('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    '1e20',
    '0x10',
    ' 12',
    '12 ',
    '12.0',
    '-0',
    '-1',
    '+1',
    'NaN',
    'Infinity',
    '',
    '007',
    '1_000',
    '9007199254740993',
    '٣',
  ])('refuses %p', (text) => expect(parseDecimalInteger(text)).toBeUndefined());
});

describe('isPrintableText', () => {
  it('accepts printable ASCII within the length', () => {
    expect(isPrintableText('NIFTY 50', 64)).toBe(true);
    expect(isPrintableText('M&M', 64)).toBe(true);
  });

  it('refuses NUL, control characters, empty and overlong text', () => {
    expect(isPrintableText('NIFTY\u0000', 64)).toBe(false);
    expect(isPrintableText('A\nB', 64)).toBe(false);
    expect(isPrintableText('', 64)).toBe(false);
    expect(isPrintableText('X'.repeat(65), 64)).toBe(false);
  });
});
