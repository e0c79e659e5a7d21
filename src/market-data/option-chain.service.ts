import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CLOCK, Clock, istDateOf } from '../contracts/market-time';
import { OptionChainDto, OptionLegDto } from './dto/option-chain.dto';
import { OptionChainRepository, StrikeBarRow } from './option-chain.repository';

function numberOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

function leg(row: StrikeBarRow, side: 'call' | 'put'): OptionLegDto | null {
  const token = row[`${side}_token`];
  if (token === null) return null;
  return {
    instrument_token: Number(token),
    open: numberOrNull(row[`${side}_open`]),
    high: numberOrNull(row[`${side}_high`]),
    low: numberOrNull(row[`${side}_low`]),
    close: numberOrNull(row[`${side}_close`]),
    volume: Number(row[`${side}_volume`]),
    oi: numberOrNull(row[`${side}_oi`]),
    iv: numberOrNull(row[`${side}_iv`]),
    delta: numberOrNull(row[`${side}_delta`]),
    gamma: numberOrNull(row[`${side}_gamma`]),
    theta: numberOrNull(row[`${side}_theta`]),
    vega: numberOrNull(row[`${side}_vega`]),
  };
}

/** One minute of an expiry's option chain, with its put-call ratios and max pain. */
@Injectable()
export class OptionChainService {
  constructor(
    private readonly chains: OptionChainRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async chain(
    underlying: string,
    expiry: string | undefined,
    at: string | undefined,
  ): Promise<OptionChainDto> {
    const instant = at ? new Date(at) : this.clock.now();
    const resolvedExpiry = expiry ?? (await this.chains.nearestExpiry(underlying, istDateOf(instant)));
    if (!resolvedExpiry)
      throw new NotFoundException(
        `no listed ${underlying} options expiring on or after ${istDateOf(instant)}`,
      );
    const time = await this.chains.latestMinute(underlying, resolvedExpiry, instant);
    if (!time)
      throw new NotFoundException(
        `no ${underlying} ${resolvedExpiry} option candles at or before ${instant.toISOString()}`,
      );
    const [rows, metrics] = await Promise.all([
      this.chains.strikes(underlying, resolvedExpiry, time),
      this.chains.metrics(underlying, resolvedExpiry, time),
    ]);
    if (rows.length === 0 || !metrics)
      throw new NotFoundException(`no ${underlying} ${resolvedExpiry} chain at ${time.toISOString()}`);
    return {
      underlying,
      expiry: resolvedExpiry,
      time: time.toISOString(),
      underlying_close: metrics.underlying_close,
      summary: {
        total_call_volume: Number(metrics.total_call_volume),
        total_put_volume: Number(metrics.total_put_volume),
        total_call_oi: Number(metrics.total_call_oi),
        total_put_oi: Number(metrics.total_put_oi),
        pcr_oi: metrics.pcr_oi,
        pcr_volume: metrics.pcr_volume,
        max_pain_strike: metrics.max_pain_strike,
      },
      strikes: rows.map((row) => ({
        strike: Number(row.strike),
        call: leg(row, 'call'),
        put: leg(row, 'put'),
      })),
    };
  }
}
