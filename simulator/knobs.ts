// Runtime behaviour switches (faults, quirks, event shape, live ticks). Unlike the seed and the
// reference date they can change while the simulator runs: `setKnobs` or `POST /admin/knobs`.

export type EventShape = 'ticker' | 'design-note';
export type FaultRoute = 'history' | 'subscriptions';

export interface SimulatorKnobs {
  /** Added to every response except /health and /admin. */
  latencyMs: number;
  /** Fraction of requests on `faultRoutes` answered 502 (a Kite failure as the ticker reports it). */
  fail502Rate: number;
  /** Fraction of requests on `faultRoutes` answered 429 with Retry-After. */
  fail429Rate: number;
  faultRoutes: FaultRoute[];
  retryAfterSeconds: number;
  /** History requests started per second (the ticker's Kite budget); 0 = unlimited. */
  historyRatePerSec: number;
  /** A history request that would wait longer than this for a slot waits this long, then gets 502. */
  historyMaxWaitMs: number;
  /** `GET /subscriptions` requests per minute before 429; 0 = unlimited. */
  subscriptionsRatePerMin: number;
  /** Return the window 5h30 earlier than asked, like the real ticker (CONTRACTS.md section 3). */
  windowQuirk: boolean;
  eventsEnabled: boolean;
  eventShape: EventShape;
  /** Publish ticks for active subscriptions as the clock advances. */
  liveTicks: boolean;
  /** Extra quote ticks per second per instrument between trades (repeat the last trade's state). */
  tickRate: number;
  /** Reproduce the current ticker's bug: `volume` is always 0 in ticks. */
  tickVolumeZero: boolean;
  /** Tokens `GET /history` answers 404 for (subscriptions still work). */
  historyUnknownTokens: number[];
  /** Tokens that are down: history 502, no live ticks. */
  downTokens: number[];
}

export const DEFAULT_KNOBS: Readonly<SimulatorKnobs> = {
  latencyMs: 0,
  fail502Rate: 0,
  fail429Rate: 0,
  faultRoutes: ['history'],
  retryAfterSeconds: 1,
  historyRatePerSec: 3,
  historyMaxWaitMs: 30_000,
  subscriptionsRatePerMin: 100,
  windowQuirk: false,
  eventsEnabled: true,
  eventShape: 'ticker',
  liveTicks: true,
  tickRate: 1,
  tickVolumeZero: false,
  historyUnknownTokens: [],
  downTokens: [],
};

type Check = (value: unknown) => string | undefined;

const nonNegative: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a number >= 0';
const fraction: Check = (v) =>
  typeof v === 'number' && v >= 0 && v <= 1 ? undefined : 'a number between 0 and 1';
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const tokens: Check = (v) =>
  Array.isArray(v) && v.every((t) => Number.isInteger(t) && (t as number) > 0)
    ? undefined
    : 'an array of positive integers';

const CHECKS: Record<keyof SimulatorKnobs, Check> = {
  latencyMs: nonNegative,
  fail502Rate: fraction,
  fail429Rate: fraction,
  faultRoutes: (v) =>
    Array.isArray(v) && v.every((r) => r === 'history' || r === 'subscriptions')
      ? undefined
      : 'an array of "history" and "subscriptions"',
  retryAfterSeconds: nonNegative,
  historyRatePerSec: nonNegative,
  historyMaxWaitMs: nonNegative,
  subscriptionsRatePerMin: nonNegative,
  windowQuirk: boolean,
  eventsEnabled: boolean,
  eventShape: (v) => (v === 'ticker' || v === 'design-note' ? undefined : '"ticker" or "design-note"'),
  liveTicks: boolean,
  tickRate: nonNegative,
  tickVolumeZero: boolean,
  historyUnknownTokens: tokens,
  downTokens: tokens,
};

/** Validates a partial knob object (from JSON); throws one message listing every problem. */
export function validateKnobs(input: unknown): Partial<SimulatorKnobs> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error('knobs must be a JSON object');
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const check = CHECKS[key as keyof SimulatorKnobs] as Check | undefined;
    if (!check) problems.push(`unknown knob "${key}"`);
    else {
      const problem = check(value);
      if (problem) problems.push(`${key} must be ${problem}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return input as Partial<SimulatorKnobs>;
}

export interface SimulatorStats {
  history: {
    requests: number;
    ok: number;
    badRequest: number;
    notFound: number;
    /** Injected by `fail502Rate`. */
    fault502: number;
    /** Injected by `fail429Rate`. */
    fault429: number;
    /** Waited `historyMaxWaitMs` for a rate-limit slot, then 502. */
    waitTimeout502: number;
    /** Token in `downTokens`. */
    down502: number;
    /** Requests waiting for a slot right now. */
    waiting: number;
    /** Longest wait for a slot so far (ms). */
    maxWaitMs: number;
  };
  subscriptions: {
    list: number;
    created: number;
    removed: number;
    rejected: number;
    rateLimited429: number;
    fault502: number;
    fault429: number;
  };
  events: { published: number; suppressed: number };
  ticks: { options: number; underlying: number; publishErrors: number };
}

export function emptyStats(): SimulatorStats {
  return {
    history: {
      requests: 0,
      ok: 0,
      badRequest: 0,
      notFound: 0,
      fault502: 0,
      fault429: 0,
      waitTimeout502: 0,
      down502: 0,
      waiting: 0,
      maxWaitMs: 0,
    },
    subscriptions: {
      list: 0,
      created: 0,
      removed: 0,
      rejected: 0,
      rateLimited429: 0,
      fault502: 0,
      fault429: 0,
    },
    events: { published: 0, suppressed: 0 },
    ticks: { options: 0, underlying: 0, publishErrors: 0 },
  };
}
