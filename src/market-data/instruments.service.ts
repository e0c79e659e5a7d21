import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ThrottledLog } from '../common/throttled-log';
import { MarketCalendar } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { InstrumentListService } from './instrument-list.service';
import { InstrumentsRepository } from './instruments.repository';
import { derivedFromTradingsymbol, DerivedFields } from './kite-tradingsymbol';
import {
  DESCRIBED_FIELDS,
  DESCRIPTION_SOURCES,
  DescribedField,
  DescribedInstrument,
  DescriptionSource,
  InstrumentInfo,
} from './market-data.types';

/** The sources that state fields of their own (the tradingsymbol's are derived here). */
export type StatingSource = Exclude<DescriptionSource, 'tradingsymbol'>;

/** Metric labels and log names of the fields: the columns'. */
const FIELD_NAMES: Record<DescribedField, string> = {
  tradingsymbol: 'tradingsymbol',
  name: 'name',
  segment: 'segment',
  exchange: 'exchange',
  instrumentType: 'instrument_type',
  strike: 'strike',
  expiry: 'expiry',
  lotSize: 'lot_size',
  tickSize: 'tick_size',
};

/** The fields a tradingsymbol states of the contract itself (the others come from the segment). */
const CONTRACT_FIELDS = ['name', 'instrumentType', 'strike', 'expiry'] as const;
const APPLY_BATCH = 2000;

type Fields = Partial<Record<DescribedField, string | number | null>>;

const present = (value: unknown): boolean => value !== null && value !== undefined;

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  return a === b;
}

const rankOf = (source: DescriptionSource): number => DESCRIPTION_SOURCES.indexOf(source);

/**
 * Describes instruments from every source there is, so that an instrument is complete (underlying,
 * type, strike, expiry, tick and, with an instrument list, lot) from the moment it is first named,
 * not from its first tick: what the caller states, the day's instrument list, and what its
 * tradingsymbol and segment say. Each field keeps its source, the strongest winning (a tick's own
 * fields over the list's, the list's over the symbol's; see DESCRIPTION_SOURCES), here and in the
 * database. A tick that disagrees with the list or the symbol is counted
 * (`instrument_tick_disagreements_total`).
 */
@Injectable()
export class InstrumentsService implements OnModuleInit {
  private readonly logger = new Logger('Instruments');
  /** One warning per field and source; the rest at debug, with the count in the metric. */
  private readonly disagreementLog = ThrottledLog.once(this.logger);

  constructor(
    private readonly repository: InstrumentsRepository,
    private readonly list: InstrumentListService,
    private readonly calendar: MarketCalendar,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.list.onLoaded((list) => this.applyList(list));
  }

  /** Describes and writes `items` as `source` states them (in `manager`'s transaction when given). */
  async record(
    items: readonly InstrumentInfo[],
    source: StatingSource,
    manager?: EntityManager,
  ): Promise<void> {
    await this.write(
      items.map((item) => this.describe(item, source)),
      manager,
    );
  }

  /** Records what the instrument list says of `tokens` (a manual backfill names only a token). */
  async recordListed(tokens: readonly number[], manager?: EntityManager): Promise<number> {
    const listed = tokens.map((token) => this.list.get(token)).filter((item) => item !== undefined);
    await this.record(listed, 'instrument_list', manager);
    return listed.length;
  }

  write(rows: readonly DescribedInstrument[], manager?: EntityManager): Promise<void> {
    return this.repository.upsert(rows, manager);
  }

  /**
   * `info` as `source` states it, completed from the instrument list and the tradingsymbol: each
   * field from the strongest source that has it. The symbol's contract fields are left out when a
   * stated or listed field contradicts them (the symbol is then not what it seems). For a tick,
   * every field that disagrees with the list or the symbol is counted; the tick's value stands.
   */
  describe(info: InstrumentInfo, source: StatingSource): DescribedInstrument {
    const stated: Fields = {};
    for (const field of DESCRIBED_FIELDS) if (present(info[field])) stated[field] = info[field];
    const listed: Fields = (source !== 'instrument_list' && this.list.get(info.instrumentToken)) || {};
    const derived: Fields & DerivedFields = derivedFromTradingsymbol(
      (stated.tradingsymbol ?? listed.tradingsymbol) as string | undefined,
      (stated.segment ?? listed.segment) as string | undefined,
      this.calendar,
    );
    if (source === 'tick') this.countDisagreements(info, stated, listed, derived);
    const contradicted = CONTRACT_FIELDS.some((field) =>
      [stated, listed].some(
        (fields) => present(fields[field]) && present(derived[field]) && !same(fields[field], derived[field]),
      ),
    );
    if (contradicted) for (const field of CONTRACT_FIELDS) derived[field] = null;

    const layers: [Fields, DescriptionSource][] = [
      [stated, source],
      [listed, 'instrument_list' as const],
      [derived, 'tradingsymbol' as const],
    ];
    layers.sort((a, b) => rankOf(b[1]) - rankOf(a[1]));
    const described: DescribedInstrument = { instrumentToken: info.instrumentToken, sources: {} };
    for (const field of DESCRIBED_FIELDS) {
      const layer = layers.find(([fields]) => present(fields[field]));
      if (!layer) continue;
      (described as unknown as Record<string, unknown>)[field] = layer[0][field];
      described.sources[field] = layer[1];
    }
    return described;
  }

  private countDisagreements(info: InstrumentInfo, stated: Fields, listed: Fields, derived: Fields): void {
    for (const field of DESCRIBED_FIELDS) {
      if (!present(stated[field])) continue;
      for (const [other, label] of [
        [listed, 'instrument_list'],
        [derived, 'tradingsymbol'],
      ] as const) {
        if (!present(other[field]) || same(stated[field], other[field])) continue;
        const name = FIELD_NAMES[field];
        this.metrics.instrumentTickDisagreements.inc({ field: name, source: label });
        const line = `token ${info.instrumentToken} (${String(stated.tradingsymbol ?? listed.tradingsymbol ?? '?')}): the tick's ${name} ${JSON.stringify(stated[field])} disagrees with the ${label === 'instrument_list' ? 'instrument list' : 'tradingsymbol'}'s ${JSON.stringify(other[field])}; the tick's is kept`;
        this.disagreementLog.report(`${name} disagreements with the ${label}`, line);
      }
    }
  }

  /** A new list describes the instruments already known (those it lists). */
  private async applyList(list: ReadonlyMap<number, InstrumentInfo>): Promise<void> {
    const known = await this.repository.knownTokens([...list.keys()]);
    for (let i = 0; i < known.length; i += APPLY_BATCH)
      await this.record(
        known.slice(i, i + APPLY_BATCH).map((token) => list.get(token)!),
        'instrument_list',
      );
    this.logger.log(`instrument list applied to the ${known.length} known instruments it lists`);
  }
}
