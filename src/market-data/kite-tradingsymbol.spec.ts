import { DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS, MarketCalendar } from '../contracts/market-time';
import { derivedFromTradingsymbol, parseKiteTradingsymbol } from './kite-tradingsymbol';

const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS);

describe('parseKiteTradingsymbol', () => {
  it('reads a weekly option with its exact expiry', () => {
    expect(parseKiteTradingsymbol('NIFTY25N0424600CE')).toEqual({
      name: 'NIFTY',
      instrumentType: 'CE',
      strike: 24600,
      expiry: '2025-11-04',
      expiryMonth: null,
    });
    expect(parseKiteTradingsymbol('NIFTY2510724500PE')).toEqual({
      name: 'NIFTY',
      instrumentType: 'PE',
      strike: 24500,
      expiry: '2025-01-07',
      expiryMonth: null,
    });
  });

  it('reads the month codes O, N and D as October, November and December', () => {
    expect(parseKiteTradingsymbol('NIFTY25O0725000CE')?.expiry).toBe('2025-10-07');
    expect(parseKiteTradingsymbol('NIFTY25N1125000CE')?.expiry).toBe('2025-11-11');
    expect(parseKiteTradingsymbol('NIFTY25D3025000PE')?.expiry).toBe('2025-12-30');
    expect(parseKiteTradingsymbol('NIFTY25909125000PE')?.expiry).toBe('2025-09-09');
  });

  it('reads a monthly option with its expiry month, whose day the calendar decides', () => {
    expect(parseKiteTradingsymbol('NIFTY25NOV24750CE')).toEqual({
      name: 'NIFTY',
      instrumentType: 'CE',
      strike: 24750,
      expiry: null,
      expiryMonth: { year: 2025, month: 11 },
    });
    expect(parseKiteTradingsymbol('BANKNIFTY25DEC56000PE')).toEqual({
      name: 'BANKNIFTY',
      instrumentType: 'PE',
      strike: 56000,
      expiry: null,
      expiryMonth: { year: 2025, month: 12 },
    });
  });

  it('reads other index underlyings and half-point strikes', () => {
    expect(parseKiteTradingsymbol('FINNIFTY25N0426500PE')).toEqual({
      name: 'FINNIFTY',
      instrumentType: 'PE',
      strike: 26500,
      expiry: '2025-11-04',
      expiryMonth: null,
    });
    expect(parseKiteTradingsymbol('MIDCPNIFTY25NOV13025CE')?.name).toBe('MIDCPNIFTY');
    expect(parseKiteTradingsymbol('RELIANCE25NOV1452.5CE')?.strike).toBe(1452.5);
  });

  it('reads a future as name, FUT and its expiry month', () => {
    expect(parseKiteTradingsymbol('NIFTY25NOVFUT')).toEqual({
      name: 'NIFTY',
      instrumentType: 'FUT',
      strike: null,
      expiry: null,
      expiryMonth: { year: 2025, month: 11 },
    });
    expect(parseKiteTradingsymbol('BANKNIFTY25DECFUT')?.name).toBe('BANKNIFTY');
  });

  it('derives nothing from a day that does not exist', () => {
    expect(parseKiteTradingsymbol('NIFTY25N3124600CE')).toBeNull();
    expect(parseKiteTradingsymbol('NIFTY25N0024600CE')).toBeNull();
    expect(parseKiteTradingsymbol('NIFTY2522924600CE')).toBeNull(); // 2025 is not a leap year
    expect(parseKiteTradingsymbol('NIFTY2422924600CE')?.expiry).toBe('2024-02-29');
  });

  it.each([
    'NIFTY 50',
    'NIFTY BANK',
    'RELIANCE',
    '',
    'nifty25N0424600CE',
    'NIFTY25N0424600XE',
    'NIFTY25N0424600',
    'NIFTY25NOV24750',
    'NIFTY25NOVCE',
    'NIFTY25N04CE',
    'NIFTY25A0424600CE', // no month code A
    'NIFTY25NOX24750CE',
    'NIFTY25NOV024750CE', // a strike never starts with 0
    'NIFTY25NOV24750.25CE',
    'NIFTY25NOV24750.CE',
    'NIFTY25NOVFUTX',
    'NIFTY25NOV24750FUT',
    '25NOV24750CE',
    'NIFTY5NOV24750CE',
    ' NIFTY25NOV24750CE',
    'NIFTY25NOV24750CE ',
    'M&M25NOV3500CE',
    'NIFTYNXT5025NOV70000CE',
  ])('derives nothing from %p', (symbol) => {
    expect(parseKiteTradingsymbol(symbol)).toBeNull();
  });
});

describe('derivedFromTradingsymbol', () => {
  it('describes a weekly option of an event: underlying, type, strike, its date, NFO and the 0.05 tick', () => {
    expect(derivedFromTradingsymbol('NIFTY25N0424600CE', 'NFO-OPT', calendar)).toEqual({
      name: 'NIFTY',
      exchange: 'NFO',
      instrumentType: 'CE',
      strike: 24600,
      expiry: '2025-11-04',
      tickSize: 0.05,
    });
  });

  it("dates a monthly option and a future on the month's last Tuesday from September 2025", () => {
    expect(derivedFromTradingsymbol('NIFTY25NOV24750PE', 'NFO-OPT', calendar)).toEqual({
      name: 'NIFTY',
      exchange: 'NFO',
      instrumentType: 'PE',
      strike: 24750,
      expiry: '2025-11-25',
      tickSize: 0.05,
    });
    expect(derivedFromTradingsymbol('NIFTY25NOVFUT', 'NFO-FUT', calendar)).toEqual({
      name: 'NIFTY',
      exchange: 'NFO',
      instrumentType: 'FUT',
      strike: null,
      expiry: '2025-11-25',
      tickSize: 0.05,
    });
    expect(derivedFromTradingsymbol('BANKNIFTY25SEP54000CE', 'NFO-OPT', calendar).expiry).toBe('2025-09-30');
    expect(derivedFromTradingsymbol('NIFTY26DEC26000CE', 'NFO-OPT', calendar).expiry).toBe('2026-12-29');
  });

  it('dates monthly contracts before September 2025 on the last Thursday', () => {
    expect(derivedFromTradingsymbol('NIFTY25AUG24500CE', 'NFO-OPT', calendar).expiry).toBe('2025-08-28');
    expect(derivedFromTradingsymbol('BANKNIFTY25JANFUT', 'NFO-FUT', calendar).expiry).toBe('2025-01-30');
    expect(derivedFromTradingsymbol('NIFTY24DEC24000PE', 'NFO-OPT', calendar).expiry).toBe('2024-12-26');
    // Other underlyings changed their weekday in 2023-2024: not derived rather than guessed.
    expect(derivedFromTradingsymbol('BANKNIFTY24DEC52000PE', 'NFO-OPT', calendar)).toMatchObject({
      name: 'BANKNIFTY',
      strike: 52000,
      expiry: null,
    });
  });

  it('moves a monthly expiry that falls on a holiday to the trading day before', () => {
    // Tuesday 31 March and Tuesday 24 November 2026 are NSE holidays.
    expect(derivedFromTradingsymbol('NIFTY26MAR23000CE', 'NFO-OPT', calendar).expiry).toBe('2026-03-30');
    expect(derivedFromTradingsymbol('NIFTY26NOVFUT', 'NFO-FUT', calendar).expiry).toBe('2026-11-23');
    // A calendar without the holiday keeps the Tuesday.
    expect(derivedFromTradingsymbol('NIFTY26MAR23000CE', 'NFO-OPT', new MarketCalendar()).expiry).toBe(
      '2026-03-31',
    );
  });

  it('derives the exchange and the tick from the segment, and no contract from an index', () => {
    expect(derivedFromTradingsymbol('NIFTY 50', 'INDICES', calendar)).toEqual({
      name: null,
      exchange: null,
      instrumentType: null,
      strike: null,
      expiry: null,
      tickSize: null,
    });
  });

  it('derives no contract from a symbol of the other kind than the segment, or outside NFO', () => {
    expect(derivedFromTradingsymbol('NIFTY25NOVFUT', 'NFO-OPT', calendar)).toMatchObject({
      instrumentType: null,
      expiry: null,
      exchange: 'NFO',
      tickSize: 0.05,
    });
    expect(derivedFromTradingsymbol('NIFTY25NOV24750CE', 'NFO-FUT', calendar).instrumentType).toBeNull();
    expect(derivedFromTradingsymbol('NIFTY25N0424600CE', 'NSE', calendar)).toMatchObject({
      name: null,
      exchange: null,
      tickSize: null,
    });
  });

  it('derives from the symbol alone when the segment is unknown: no exchange, no tick', () => {
    expect(derivedFromTradingsymbol('BANKNIFTY25N2556000PE', undefined, calendar)).toEqual({
      name: 'BANKNIFTY',
      exchange: null,
      instrumentType: 'PE',
      strike: 56000,
      expiry: '2025-11-25',
      tickSize: null,
    });
  });
});
