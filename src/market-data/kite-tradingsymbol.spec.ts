import { parseKiteTradingsymbol, withDerivedInstrumentFields } from './kite-tradingsymbol';

describe('parseKiteTradingsymbol', () => {
  it('reads a weekly option with its exact expiry', () => {
    expect(parseKiteTradingsymbol('NIFTY25N0424600CE')).toEqual({
      name: 'NIFTY',
      instrumentType: 'CE',
      strike: 24600,
      expiry: '2025-11-04',
    });
    expect(parseKiteTradingsymbol('NIFTY2510724500PE')).toEqual({
      name: 'NIFTY',
      instrumentType: 'PE',
      strike: 24500,
      expiry: '2025-01-07',
    });
  });

  it('reads the month codes O, N and D as October, November and December', () => {
    expect(parseKiteTradingsymbol('NIFTY25O0725000CE')?.expiry).toBe('2025-10-07');
    expect(parseKiteTradingsymbol('NIFTY25N1125000CE')?.expiry).toBe('2025-11-11');
    expect(parseKiteTradingsymbol('NIFTY25D3025000PE')?.expiry).toBe('2025-12-30');
    expect(parseKiteTradingsymbol('NIFTY25909125000PE')?.expiry).toBe('2025-09-09');
  });

  it('reads a monthly option without guessing its expiry', () => {
    expect(parseKiteTradingsymbol('NIFTY25NOV24750CE')).toEqual({
      name: 'NIFTY',
      instrumentType: 'CE',
      strike: 24750,
      expiry: null,
    });
    expect(parseKiteTradingsymbol('BANKNIFTY25DEC56000PE')).toEqual({
      name: 'BANKNIFTY',
      instrumentType: 'PE',
      strike: 56000,
      expiry: null,
    });
  });

  it('reads other index underlyings and half-point strikes', () => {
    expect(parseKiteTradingsymbol('FINNIFTY25N0426500PE')).toEqual({
      name: 'FINNIFTY',
      instrumentType: 'PE',
      strike: 26500,
      expiry: '2025-11-04',
    });
    expect(parseKiteTradingsymbol('MIDCPNIFTY25NOV13025CE')?.name).toBe('MIDCPNIFTY');
    expect(parseKiteTradingsymbol('RELIANCE25NOV1452.5CE')?.strike).toBe(1452.5);
  });

  it('reads a future as name and FUT only', () => {
    expect(parseKiteTradingsymbol('NIFTY25NOVFUT')).toEqual({
      name: 'NIFTY',
      instrumentType: 'FUT',
      strike: null,
      expiry: null,
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

describe('withDerivedInstrumentFields', () => {
  it('completes an event-like row for a weekly option', () => {
    expect(
      withDerivedInstrumentFields({
        instrumentToken: 1,
        tradingsymbol: 'NIFTY25N0424600CE',
        segment: 'NFO-OPT',
      }),
    ).toEqual({
      instrumentToken: 1,
      tradingsymbol: 'NIFTY25N0424600CE',
      segment: 'NFO-OPT',
      exchange: 'NFO',
      name: 'NIFTY',
      instrumentType: 'CE',
      strike: 24600,
      expiry: '2025-11-04',
    });
  });

  it('leaves a monthly expiry and a future strike unset', () => {
    const monthly = withDerivedInstrumentFields({
      instrumentToken: 1,
      tradingsymbol: 'NIFTY25NOV24750PE',
      segment: 'NFO-OPT',
    });
    expect(monthly).toEqual(expect.objectContaining({ name: 'NIFTY', instrumentType: 'PE', strike: 24750 }));
    expect(monthly.expiry).toBeUndefined();
    const future = withDerivedInstrumentFields({
      instrumentToken: 2,
      tradingsymbol: 'NIFTY25NOVFUT',
      segment: 'NFO-FUT',
    });
    expect(future).toEqual(
      expect.objectContaining({ name: 'NIFTY', instrumentType: 'FUT', exchange: 'NFO' }),
    );
    expect(future.strike).toBeUndefined();
    expect(future.expiry).toBeUndefined();
  });

  it('keeps what the caller states and fills only the rest', () => {
    expect(
      withDerivedInstrumentFields({
        instrumentToken: 1,
        tradingsymbol: 'NIFTY25N0424600CE',
        segment: 'NFO-OPT',
        exchange: 'NSE',
        name: 'NIFTY',
        strike: null,
        expiry: '2025-11-04',
      }),
    ).toEqual(
      expect.objectContaining({
        exchange: 'NSE',
        name: 'NIFTY',
        instrumentType: 'CE',
        strike: 24600,
        expiry: '2025-11-04',
      }),
    );
  });

  it('derives nothing when a stated field contradicts the symbol', () => {
    const row = {
      instrumentToken: 1,
      tradingsymbol: 'NIFTY25N0424600CE',
      segment: 'NFO-OPT',
      instrumentType: 'PE',
    };
    expect(withDerivedInstrumentFields(row)).toEqual({ ...row, exchange: 'NFO' });
    const expiry = { instrumentToken: 1, tradingsymbol: 'NIFTY25N0424600CE', expiry: '2025-11-05' };
    expect(withDerivedInstrumentFields(expiry)).toEqual(expiry);
  });

  it('derives nothing outside NFO or when the segment names the other kind of contract', () => {
    const equity = { instrumentToken: 1, tradingsymbol: 'NIFTY25N0424600CE', segment: 'NSE' };
    expect(withDerivedInstrumentFields(equity)).toEqual(equity);
    const index = { instrumentToken: 2, tradingsymbol: 'NIFTY 50', segment: 'INDICES' };
    expect(withDerivedInstrumentFields(index)).toEqual(index);
    expect(
      withDerivedInstrumentFields({ instrumentToken: 3, tradingsymbol: 'NIFTY25NOVFUT', segment: 'NFO-OPT' }),
    ).toEqual({ instrumentToken: 3, tradingsymbol: 'NIFTY25NOVFUT', segment: 'NFO-OPT', exchange: 'NFO' });
    expect(
      withDerivedInstrumentFields({
        instrumentToken: 4,
        tradingsymbol: 'NIFTY25NOV24750CE',
        segment: 'NFO-FUT',
      }),
    ).toEqual({
      instrumentToken: 4,
      tradingsymbol: 'NIFTY25NOV24750CE',
      segment: 'NFO-FUT',
      exchange: 'NFO',
    });
  });

  it('derives from the symbol alone when the segment is unknown, and sets no exchange', () => {
    expect(
      withDerivedInstrumentFields({ instrumentToken: 1, tradingsymbol: 'BANKNIFTY25N2556000PE' }),
    ).toEqual({
      instrumentToken: 1,
      tradingsymbol: 'BANKNIFTY25N2556000PE',
      name: 'BANKNIFTY',
      instrumentType: 'PE',
      strike: 56000,
      expiry: '2025-11-25',
    });
  });

  it('does not change its input', () => {
    const row = { instrumentToken: 1, tradingsymbol: 'NIFTY25N0424600CE', segment: 'NFO-OPT' };
    withDerivedInstrumentFields(row);
    expect(row).toEqual({ instrumentToken: 1, tradingsymbol: 'NIFTY25N0424600CE', segment: 'NFO-OPT' });
  });
});
