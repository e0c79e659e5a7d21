import { parseOptionTick, parseUnderlyingTick } from './fo-tick.parser';

const OPTION = {
  symbol: 'NIFTY',
  token: 13660418,
  tradingsymbol: 'NIFTY25NOV24500CE',
  segment: 'NFO-OPT',
  exchange: 'NFO',
  strike: 24500.0,
  expiry: '2025-11-25',
  type: 'CE',
  lot_size: 75,
  tick_size: 0.05,
  price: 123.45,
  volume: 1500,
  oi: 1234500,
  iv: 0.1432,
  delta: 0,
  gamma: 0.0011,
  theta: -12.3,
  vega: 9.8,
  ts: 1762142400,
  is_mock: false,
};

describe('parseOptionTick', () => {
  it('reads the contract shape, with 0.0 greeks as null and ts in seconds', () => {
    const result = parseOptionTick(JSON.stringify(OPTION));
    if (!result.ok) throw new Error(result.detail);
    expect(result.tick).toMatchObject({
      token: 13660418,
      timeMs: 1762142400_000,
      price: 123.45,
      dayVolume: 1500,
      oi: 1234500,
      symbol: 'NIFTY',
      greeks: { iv: 0.1432, delta: null, gamma: 0.0011, theta: -12.3, vega: 9.8 },
    });
    expect(result.tick.instrument()).toEqual({
      instrumentToken: 13660418,
      tradingsymbol: 'NIFTY25NOV24500CE',
      name: 'NIFTY',
      segment: 'NFO-OPT',
      exchange: 'NFO',
      instrumentType: 'CE',
      strike: 24500,
      expiry: '2025-11-25',
      lotSize: 75,
      tickSize: 0.05,
    });
  });

  it('keeps futures', () => {
    const result = parseOptionTick(JSON.stringify({ ...OPTION, type: 'FUT', strike: 0, segment: 'NFO-FUT' }));
    expect(result.ok && result.tick.instrument().instrumentType).toBe('FUT');
  });

  it('leaves out instrument fields no column can hold, keeping the tick and the other fields', () => {
    const result = parseOptionTick(
      JSON.stringify({
        ...OPTION,
        expiry: '2025-13-45',
        lot_size: 2 ** 31,
        strike: -5,
        tick_size: 0,
        tradingsymbol: 'NIFTY\u0000CE',
        exchange: 'X'.repeat(65),
        segment: 42,
      }),
    );
    if (!result.ok) throw new Error(result.detail);
    expect(result.tick.price).toBe(OPTION.price);
    expect(result.tick.instrument()).toEqual({
      instrumentToken: 13660418,
      tradingsymbol: null,
      name: 'NIFTY',
      segment: null,
      exchange: null,
      instrumentType: 'CE',
      strike: null,
      expiry: null,
      lotSize: null,
      tickSize: null,
    });
    expect([...result.tick.droppedFields!()].sort()).toEqual(
      ['exchange', 'expiry', 'lot_size', 'segment', 'strike', 'tick_size', 'tradingsymbol'].sort(),
    );
  });

  it.each([
    ['2025-02-29', null],
    ['2024-02-29', '2024-02-29'],
    ['2025-11-25T00:00:00Z', null],
  ])('reads expiry %s as %s', (expiry, expected) => {
    const result = parseOptionTick(JSON.stringify({ ...OPTION, expiry }));
    expect(result.ok && result.tick.instrument().expiry).toBe(expected);
  });

  it('drops nothing from a tick in the contract shape', () => {
    const result = parseOptionTick(JSON.stringify(OPTION));
    expect(result.ok && result.tick.droppedFields!()).toEqual([]);
  });

  it.each([
    ['invalid JSON', '{"token":1,', 'invalid_json'],
    ['NaN literal', '{"token":1,"price":NaN,"ts":1}', 'invalid_json'],
    ['an array', '[1,2]', 'not_object'],
    ['a missing token', JSON.stringify({ ...OPTION, token: undefined }), 'missing_token'],
    ['a negative token', JSON.stringify({ ...OPTION, token: -4 }), 'missing_token'],
    ['a string price', JSON.stringify({ ...OPTION, price: '123.45' }), 'invalid_price'],
    ['a missing price', JSON.stringify({ ...OPTION, price: undefined }), 'invalid_price'],
    ['a missing ts', JSON.stringify({ ...OPTION, ts: undefined }), 'invalid_time'],
    ['a string volume', JSON.stringify({ ...OPTION, volume: 'x' }), 'invalid_field'],
    ['an unknown type', JSON.stringify({ ...OPTION, type: 'XX' }), 'invalid_field'],
    ['a volume beyond bigint', JSON.stringify({ ...OPTION, volume: 2 ** 63 }), 'invalid_field'],
    [
      'a volume beyond what a JS number carries exactly',
      JSON.stringify({ ...OPTION, volume: 2 ** 53 }),
      'invalid_field',
    ],
    ['an OI beyond bigint', JSON.stringify({ ...OPTION, oi: 1e20 }), 'invalid_field'],
    [
      'a token beyond what a JS number carries exactly',
      JSON.stringify({ ...OPTION, token: 2 ** 53 }),
      'missing_token',
    ],
    ['an oversized payload', JSON.stringify({ ...OPTION, pad: 'x'.repeat(70_000) }), 'oversized'],
  ])('rejects %s', (_name, raw, reason) => {
    const result = parseOptionTick(raw);
    expect(result.ok ? 'accepted' : result.reason).toBe(reason);
  });
});

describe('parseUnderlyingTick', () => {
  it('reads the quote poll: close is the price, the day open/high/low are ignored', () => {
    const result = parseUnderlyingTick(
      JSON.stringify({
        symbol: 'NIFTY',
        open: 24000,
        high: 24600,
        low: 23900,
        close: 24510.5,
        volume: 0,
        ts: 1762142401,
      }),
    );
    if (!result.ok) throw new Error(result.detail);
    expect(result.tick).toMatchObject({ token: 256265, price: 24510.5, timeMs: 1762142401_000, oi: null });
  });

  it('reads the index tick with its own token, last_price and timestamp', () => {
    const result = parseUnderlyingTick(
      JSON.stringify({
        symbol: 'BANKNIFTY',
        instrument_token: 260105,
        last_price: 51234.2,
        volume: 0,
        timestamp: 1762142402,
        ohlc: { open: 1, high: 2, low: 0.5, close: 1.5 },
      }),
    );
    if (!result.ok) throw new Error(result.detail);
    expect(result.tick).toMatchObject({ token: 260105, price: 51234.2, timeMs: 1762142402_000 });
  });

  it('maps FINNIFTY to its index token and reads the off-hours bar', () => {
    const result = parseUnderlyingTick(
      JSON.stringify({
        symbol: 'FINNIFTY',
        open: 1,
        high: 2,
        low: 0.5,
        close: 23000,
        volume: 0,
        ts: 1762142403,
        is_mock: false,
      }),
    );
    expect(result.ok && result.tick.token).toBe(257801);
  });

  it.each([
    ['text', 'abc'],
    ['a negative number', -5],
    ['zero', 0],
    ['a fraction', 256265.5],
    ['a number in text', '256265'],
    ['an object', { id: 256265 }],
    ['a token beyond what a JS number carries exactly', 2 ** 53],
  ])('rejects an instrument_token that is %s, even with a known symbol', (_what, token) => {
    const result = parseUnderlyingTick(
      JSON.stringify({
        symbol: 'NIFTY',
        instrument_token: token,
        last_price: 24510.5,
        timestamp: 1762142402,
      }),
    );
    expect(result.ok ? `accepted as ${result.tick.token}` : result.reason).toBe('missing_token');
  });

  it('reads a null instrument_token as none given: the symbol names the index', () => {
    const result = parseUnderlyingTick(
      JSON.stringify({ symbol: 'NIFTY', instrument_token: null, close: 24510.5, ts: 1762142401 }),
    );
    expect(result.ok && result.tick.token).toBe(256265);
  });

  it('rejects an unknown symbol without a token, and a missing price', () => {
    const unknown = parseUnderlyingTick(JSON.stringify({ symbol: 'SENSEX', close: 80000, ts: 1762142403 }));
    expect(unknown.ok ? 'accepted' : unknown.reason).toBe('unknown_symbol');
    const noPrice = parseUnderlyingTick(JSON.stringify({ symbol: 'NIFTY', ts: 1762142403 }));
    expect(noPrice.ok ? 'accepted' : noPrice.reason).toBe('invalid_price');
  });
});
