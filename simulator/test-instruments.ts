// The content of TEST_INSTRUMENTS.json: a fixed selection from the simulated universe with the data
// to expect for each instrument. Pure, so a spec can check the committed file is current.

import { SESSION_MINUTES, SESSION_OPEN_MINUTE, istInstant, MINUTE_MS } from '../src/contracts/market-time';
import type { SimInstrument } from './instruments';
import type { Market } from './market';

export interface TestInstrument {
  instrument_token: number;
  tradingsymbol: string;
  name: string;
  segment: string;
  exchange: string;
  instrument_type: 'INDEX' | 'FUT' | 'CE' | 'PE';
  strike: number;
  expiry: string | null;
  lot_size: number;
  tick_size: number;
  liquidity: 'liquid' | 'illiquid';
  /** Probability that a session minute has no trade (no candle). */
  no_trade_fraction: number;
  /** Expected candles in a full session on average (375 for liquid instruments). */
  expected_candles_per_session: number;
  /** Exact candle count of the reference session. */
  reference_session_candles: number;
  has_volume: boolean;
  has_oi: boolean;
  has_greeks: boolean;
  has_underlying: boolean;
}

export interface TestInstrumentsFile {
  description: string;
  generated_by: string;
  seed: number;
  reference_date: string;
  reference_session: { open: string; close: string };
  session_minutes: number;
  notes: string[];
  instruments: TestInstrument[];
}

function pick(market: Market): SimInstrument[] {
  const { universe } = market;
  const chosen: SimInstrument[] = [];
  const add = (instrument: SimInstrument | undefined): void => {
    if (instrument && !chosen.includes(instrument)) chosen.push(instrument);
  };
  const options = (name: string, expiry: string): SimInstrument[] =>
    universe.instruments.filter(
      (i) => i.name === name && i.expiry === expiry && (i.kind === 'CE' || i.kind === 'PE'),
    );
  const expiriesOf = (name: string): string[] =>
    [
      ...new Set(
        universe.instruments
          .filter((i) => i.name === name && (i.kind === 'CE' || i.kind === 'PE'))
          .map((i) => i.expiry as string),
      ),
    ].sort();

  add(universe.instruments.find((i) => i.name === 'NIFTY' && i.kind === 'INDEX'));
  add(universe.instruments.find((i) => i.name === 'NIFTY' && i.kind === 'FUT'));
  const [nearest, second] = expiriesOf('NIFTY').filter(
    (e) => options('NIFTY', e)[0]?.expiryKind === 'weekly',
  );
  const monthly = expiriesOf('NIFTY').find((e) => options('NIFTY', e)[0]?.expiryKind === 'monthly');
  if (nearest) {
    // Liquid: ATM and three strikes each side; illiquid: far out-of-the-money calls and puts.
    for (const option of options('NIFTY', nearest)) if (option.strikeDistance <= 3) add(option);
    const center = universe.atm.NIFTY ?? 0;
    for (const option of options('NIFTY', nearest)) {
      const otm = option.kind === 'CE' ? option.strike > center : option.strike < center;
      if (otm && (option.strikeDistance === 8 || option.strikeDistance === 10)) add(option);
    }
  }
  if (second) for (const option of options('NIFTY', second)) if (option.strikeDistance === 0) add(option);
  if (monthly) {
    for (const option of options('NIFTY', monthly)) if (option.strikeDistance === 0) add(option);
    // The contract's running example.
    add(
      universe.instruments.find(
        (i) => i.name === 'NIFTY' && i.expiry === monthly && i.strike === 24_500 && i.kind === 'CE',
      ),
    );
  }
  add(universe.instruments.find((i) => i.name === 'BANKNIFTY' && i.kind === 'CE' && i.strikeDistance === 0));
  return chosen;
}

export function buildTestInstruments(market: Market): TestInstrumentsFile {
  const { calendar, model, referenceDate } = market;
  let day = referenceDate;
  while (!calendar.isTradingDay(day)) day = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
  const open = istInstant(day, SESSION_OPEN_MINUTE).getTime();
  const session = calendar.sessionOf(day);
  const instruments = pick(market).map((instrument): TestInstrument => {
    let candles = 0;
    for (let i = 0; i < SESSION_MINUTES; i++) if (model.candle(instrument, open + i * MINUTE_MS)) candles++;
    const option = instrument.kind === 'CE' || instrument.kind === 'PE';
    return {
      instrument_token: instrument.instrument_token,
      tradingsymbol: instrument.tradingsymbol,
      name: instrument.name,
      segment: instrument.segment,
      exchange: instrument.exchange,
      instrument_type: instrument.kind,
      strike: instrument.strike,
      expiry: instrument.expiry,
      lot_size: instrument.lot_size,
      tick_size: instrument.tick_size,
      liquidity: instrument.noTradeProbability > 0 ? 'illiquid' : 'liquid',
      no_trade_fraction: Math.round(instrument.noTradeProbability * 100) / 100,
      expected_candles_per_session: Math.round(SESSION_MINUTES * (1 - instrument.noTradeProbability)),
      reference_session_candles: candles,
      has_volume: instrument.kind !== 'INDEX',
      has_oi: instrument.kind !== 'INDEX',
      has_greeks: option,
      has_underlying: option,
    };
  });
  return {
    description:
      'Instruments for integration and end-to-end tests, taken from the ticker simulator universe (simulator/). ' +
      'Tokens are a pure function of the contract; prices, volumes and OI are a pure function of seed and minute.',
    generated_by: 'npx ts-node simulator/generate-test-instruments.ts',
    seed: market.seed,
    reference_date: referenceDate,
    reference_session: { open: session.open.toISOString(), close: session.close.toISOString() },
    session_minutes: SESSION_MINUTES,
    notes: [
      'History is served for any session minute on any trading day, also after expiry (time to expiry wraps), so these tokens work on any date.',
      'Liquid instruments have a candle for every session minute; illiquid ones skip a deterministic fraction of minutes (no trade, no candle).',
      'The index has volume 0 and no OI; futures have no greeks; option candles carry iv, greeks (null when not computed) and underlying.',
      'reference_session_candles is exact for the reference session with the seed above; expected_candles_per_session is the long-run average.',
    ],
    instruments,
  };
}
