import { AppConfig } from '../app.settings';
import { INSTRUMENT_LIST_COLUMNS, InstrumentListError, parseInstrumentList } from './instrument-list';
import { nextDailyRefresh, resolvedListSource } from './instrument-list.service';

const HEADER = INSTRUMENT_LIST_COLUMNS.join(',');

describe('parseInstrumentList', () => {
  it("reads Kite's columns: quoted and empty names, empty expiries, indices without tick or lot", async () => {
    const { instruments, skipped } = await parseInstrumentList(
      [
        HEADER,
        '12073986,47164,BANKNIFTY18JAN23500CE,,2528.4,2018-01-25,23500.0,0.05,40,CE,NFO-OPT,NFO',
        '13660418,53361,NIFTY25NOV24500CE,"NIFTY",0,2025-11-25,24500,0.05,75,CE,NFO-OPT,NFO',
        '13660930,53363,NIFTY25NOVFUT,"NIFTY",0,2025-11-25,0,0.1,75,FUT,NFO-FUT,NFO',
        '256265,1001,NIFTY 50,"NIFTY 50",0,,0,0,0,EQ,INDICES,NSE',
        '3861249,15083,ADANIPORTS,"ADANI PORT & SEZ, LTD",0,,0.0,0.05,1,EQ,NSE,NSE',
      ].join('\r\n'),
    );
    expect(skipped).toBe(0);
    expect(instruments.get(12073986)).toEqual({
      instrumentToken: 12073986,
      tradingsymbol: 'BANKNIFTY18JAN23500CE',
      name: null,
      segment: 'NFO-OPT',
      exchange: 'NFO',
      instrumentType: 'CE',
      strike: 23500,
      expiry: '2018-01-25',
      lotSize: 40,
      tickSize: 0.05,
    });
    expect(instruments.get(13660930)).toMatchObject({ name: 'NIFTY', instrumentType: 'FUT', tickSize: 0.1 });
    expect(instruments.get(256265)).toMatchObject({ expiry: null, lotSize: null, tickSize: null });
    expect(instruments.get(3861249)?.name).toBe('ADANI PORT & SEZ, LTD');
  });

  it('takes the columns in the order of the header', async () => {
    const columns = [...INSTRUMENT_LIST_COLUMNS].reverse();
    const values: Record<string, string> = {
      instrument_token: '13660418',
      exchange_token: '53361',
      tradingsymbol: 'NIFTY25NOV24500CE',
      name: 'NIFTY',
      last_price: '0',
      expiry: '2025-11-25',
      strike: '24500',
      tick_size: '0.05',
      lot_size: '75',
      instrument_type: 'CE',
      segment: 'NFO-OPT',
      exchange: 'NFO',
    };
    const { instruments } = await parseInstrumentList(
      `${columns.join(',')}\n${columns.map((c) => values[c]).join(',')}\n`,
    );
    expect(instruments.get(13660418)).toMatchObject({ strike: 24500, lotSize: 75, expiry: '2025-11-25' });
  });

  it('leaves out and counts the lines whose fields are not what their columns hold, keeping the rest', async () => {
    const { instruments, skipped, firstProblem } = await parseInstrumentList(
      [
        HEADER,
        '13660418,53361,NIFTY25NOV24500CE,NIFTY,0,2025-11-25,24500,0.05,75,CE,NFO-OPT,NFO',
        'x,1,A,A,0,,0,0.05,1,CE,NFO-OPT,NFO',
        '2,1,B,B,0,2025-02-30,0,0.05,1,CE,NFO-OPT,NFO',
        '3,1,C,C,0,,-5,0.05,1,CE,NFO-OPT,NFO',
        '4,1,D,D,0,,0,0.05,1.5,CE,NFO-OPT,NFO',
        '5,1,E,E,0,,0,abc,1,CE,NFO-OPT,NFO',
        '6,1,,F,0,,0,0.05,1,CE,NFO-OPT,NFO',
      ].join('\n'),
    );
    expect([...instruments.keys()]).toEqual([13660418]);
    expect(skipped).toBe(6);
    expect(firstProblem).toBe('instrument_token "x"');
  });

  it.each([
    ['an empty answer', ''],
    ['a header alone', `${HEADER}\n`],
    ['a JSON error', '{"status":"error","message":"Invalid `api_key` or `access_token`."}'],
    ['a header without a column', 'instrument_token,tradingsymbol\n1,A\n'],
    ['a line with a column too many', `${HEADER}\n1,1,A,A,0,,0,0.05,1,CE,NFO-OPT,NFO,extra\n`],
  ])('refuses %s whole', async (_, text) => {
    await expect(parseInstrumentList(text)).rejects.toBeInstanceOf(InstrumentListError);
  });
});

describe('instrument list schedule and source', () => {
  it('reads next at 08:45 IST, today before it and tomorrow from it on', () => {
    expect(nextDailyRefresh(new Date('2025-11-03T03:00:00Z')).toISOString()).toBe('2025-11-03T03:15:00.000Z');
    expect(nextDailyRefresh(new Date('2025-11-03T03:15:00Z')).toISOString()).toBe('2025-11-04T03:15:00.000Z');
    expect(nextDailyRefresh(new Date('2025-11-03T20:00:00Z')).toISOString()).toBe('2025-11-04T03:15:00.000Z');
  });

  it('takes Kite under auto only where both credentials are set', () => {
    const config = (patch: Partial<AppConfig>): AppConfig => Object.assign(new AppConfig(), patch);
    expect(resolvedListSource(config({}))).toBe('off');
    expect(resolvedListSource(config({ KITE_API_KEY: 'k' }))).toBe('off');
    expect(resolvedListSource(config({ KITE_API_KEY: 'k', KITE_ACCESS_TOKEN: 't' }))).toBe('kite');
    expect(resolvedListSource(config({ INSTRUMENT_LIST_SOURCE: 'ticker' }))).toBe('ticker');
    expect(
      resolvedListSource(
        config({ INSTRUMENT_LIST_SOURCE: 'off', KITE_API_KEY: 'k', KITE_ACCESS_TOKEN: 't' }),
      ),
    ).toBe('off');
  });
});
