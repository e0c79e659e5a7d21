// The simulator's environment, validated once. The only simulator file that reads process.env.

import { OffsetClock, parseSpecialSession } from '../src/contracts/market-time';
import { DEFAULT_CHANNEL_PREFIX } from '../src/contracts/ticker.contracts';
import type { SimulatorKnobs } from './knobs';
import type { SimulatorOptions } from './simulator';
import { UNDERLYING_NAMES, UnderlyingName } from './underlyings';

export interface SimulatorConfig extends SimulatorOptions {
  port: number;
  host: string;
  redisUrl: string;
  channelPrefix: string;
}

type Env = Record<string, string | undefined>;

/** Reads and validates the SIM_* variables (see simulator/README.md); throws one message listing every problem. */
export function loadSimulatorConfig(env: Env = process.env): SimulatorConfig {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const number = (name: string, min: number, max: number, integer = false): number | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      problems.push(
        `${name}=${raw}: expected ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`,
      );
      return undefined;
    }
    return value;
  };
  const flag = (name: string): boolean | undefined => {
    const raw = text(name)?.toLowerCase();
    if (raw === undefined) return undefined;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name}=${raw}: expected true or false`);
    return undefined;
  };
  const list = (name: string): string[] | undefined =>
    text(name)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const tokens = (name: string): number[] | undefined => {
    const items = list(name);
    if (!items) return undefined;
    const bad = items.filter((item) => !/^\d+$/.test(item) || Number(item) <= 0);
    if (bad.length > 0) problems.push(`${name}: not positive integers: ${bad.join(', ')}`);
    return items.map(Number);
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(raw))
      problems.push(`${name}=${raw}: expected one of ${allowed.join(', ')}`);
    return raw as T;
  };

  const redisUrl = text('REDIS_URL') ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push(`REDIS_URL=${redisUrl}: expected redis://host:port`);
  const referenceDate = text('SIM_REFERENCE_DATE');
  if (
    referenceDate !== undefined &&
    (!/^\d{4}-\d{2}-\d{2}$/.test(referenceDate) || Number.isNaN(Date.parse(referenceDate)))
  ) {
    problems.push(`SIM_REFERENCE_DATE=${referenceDate}: expected YYYY-MM-DD`);
  }
  const holidays = list('SIM_HOLIDAYS');
  const badHolidays = holidays?.filter((d) => !/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(d)));
  if (badHolidays && badHolidays.length > 0)
    problems.push(`SIM_HOLIDAYS: not YYYY-MM-DD: ${badHolidays.join(', ')}`);
  const specialSessions = list('SIM_SPECIAL_SESSIONS');
  const specialDates = new Set<string>();
  for (const entry of specialSessions ?? []) {
    try {
      const { date } = parseSpecialSession(entry);
      if (specialDates.has(date)) problems.push(`SIM_SPECIAL_SESSIONS: two sessions on ${date}`);
      specialDates.add(date);
    } catch (error) {
      problems.push(`SIM_SPECIAL_SESSIONS: ${(error as Error).message}`);
    }
  }
  const underlyings = list('SIM_UNDERLYINGS');
  const badUnderlyings = underlyings?.filter((u) => !(UNDERLYING_NAMES as readonly string[]).includes(u));
  if (badUnderlyings && badUnderlyings.length > 0) {
    problems.push(
      `SIM_UNDERLYINGS: unknown ${badUnderlyings.join(', ')} (known: ${UNDERLYING_NAMES.join(', ')})`,
    );
  }
  const clockStart = text('SIM_CLOCK_START');
  if (
    clockStart !== undefined &&
    (!/(Z|[+-]\d{2}:?\d{2})$/.test(clockStart) || Number.isNaN(Date.parse(clockStart)))
  ) {
    problems.push(
      `SIM_CLOCK_START=${clockStart}: expected ISO-8601 with an offset, e.g. 2025-11-03T09:15:00+05:30`,
    );
  }
  const faultRoutes = list('SIM_FAULT_ROUTES');
  if (faultRoutes?.some((r) => r !== 'history' && r !== 'subscriptions')) {
    problems.push(`SIM_FAULT_ROUTES=${faultRoutes.join(',')}: expected history and/or subscriptions`);
  }

  const knobs: Partial<SimulatorKnobs> = {
    latencyMs: number('SIM_LATENCY_MS', 0, 600_000),
    fail502Rate: number('SIM_FAIL_502_RATE', 0, 1),
    fail429Rate: number('SIM_FAIL_429_RATE', 0, 1),
    faultRoutes: faultRoutes as SimulatorKnobs['faultRoutes'] | undefined,
    retryAfterSeconds: number('SIM_RETRY_AFTER_S', 0, 3_600, true),
    historyRatePerSec: number('SIM_HISTORY_RATE_PER_SEC', 0, 10_000),
    historyMaxWaitMs: number('SIM_HISTORY_MAX_WAIT_MS', 0, 600_000),
    subscriptionsRatePerMin: number('SIM_SUBSCRIPTIONS_RATE_PER_MIN', 0, 1_000_000),
    windowQuirk: flag('SIM_WINDOW_QUIRK'),
    eventsEnabled: flag('SIM_EVENTS_ENABLED'),
    eventShape: oneOf('SIM_EVENT_SHAPE', ['ticker', 'design-note'] as const),
    liveTicks: flag('SIM_LIVE_TICKS'),
    tickRate: number('SIM_TICK_RATE', 0, 1_000),
    tickVolumeZero: flag('SIM_TICK_VOLUME_ZERO'),
    historyUnknownTokens: tokens('SIM_HISTORY_UNKNOWN_TOKENS'),
    downTokens: tokens('SIM_DOWN_TOKENS'),
  };
  const config: SimulatorConfig = {
    port: number('SIM_PORT', 0, 65_535, true) ?? 8081,
    // All interfaces, like the service: in a container the other services reach it by name.
    host: text('SIM_HOST') ?? '0.0.0.0',
    redisUrl,
    channelPrefix: text('REDIS_CHANNEL_PREFIX') ?? DEFAULT_CHANNEL_PREFIX,
    seed: number('SIM_SEED', 0, 0xffffffff, true),
    referenceDate,
    holidays,
    specialSessions,
    underlyings: underlyings as UnderlyingName[] | undefined,
    strikesEachSide: number('SIM_STRIKES_EACH_SIDE', 0, 200, true),
    weeklyExpiries: number('SIM_WEEKLY_EXPIRIES', 0, 12, true),
    clock: clockStart !== undefined && problems.length === 0 ? new OffsetClock(clockStart) : undefined,
    knobs: Object.fromEntries(Object.entries(knobs).filter(([, v]) => v !== undefined)),
  };
  if (problems.length > 0) {
    throw new Error(`invalid simulator configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}
