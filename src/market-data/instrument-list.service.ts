import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { backoff } from '../common/backoff';
import { startTimeout, stopTimer } from '../common/named-timers';
import { bodyTooLarge, withBodyCap } from '../common/read-body';
import { instrumentsConfig, InstrumentsConfig } from './instruments.config';
import { upstreamConfig, UpstreamConfig } from '../common/upstream.config';
import { InjectSettings } from '../config/settings';
import { CLOCK, Clock, DAY_MS, IST_OFFSET_MS, MINUTE_MS } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { parseInstrumentList } from './instrument-list';
import { InstrumentInfo } from './market-data.types';

/** Where the list comes from, once `auto` is resolved. */
export type ResolvedListSource = 'kite' | 'ticker' | 'off';

// Kite publishes the day's list in the morning (its documentation suggests reading it around 08:30
// IST, before the 09:15 open); the refresh runs a quarter of an hour after that.
const DAILY_REFRESH_IST_MINUTE = 8 * 60 + 45;
const RETRY = { baseMs: MINUTE_MS, maxMs: 30 * MINUTE_MS };
/** Name of the next read's timer in the SchedulerRegistry. */
export const INSTRUMENT_LIST_TIMER = 'instrument-list:refresh';
// Kite's NFO list is about 10 MB (some 90,000 contracts): its own bounds, not UPSTREAM_MAX_BODY_BYTES.
const MAX_LIST_BYTES = 64 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 60_000;
/** Only NFO: the indices have no lot or tick to learn, and the service keeps nothing else. */
const EXCHANGE = 'NFO';

export type ListListener = (list: ReadonlyMap<number, InstrumentInfo>) => Promise<void>;

/** The source INSTRUMENT_LIST_SOURCE names: `auto` is Kite where both credentials are set. */
export function resolvedListSource(
  config: Pick<
    InstrumentsConfig & UpstreamConfig,
    'INSTRUMENT_LIST_SOURCE' | 'KITE_API_KEY' | 'KITE_ACCESS_TOKEN'
  >,
): ResolvedListSource {
  if (config.INSTRUMENT_LIST_SOURCE !== 'auto') return config.INSTRUMENT_LIST_SOURCE;
  return config.KITE_API_KEY && config.KITE_ACCESS_TOKEN ? 'kite' : 'off';
}

/** The next 08:45 IST strictly after `now`. */
export function nextDailyRefresh(now: Date): Date {
  const istMs = now.getTime() + IST_OFFSET_MS;
  let next = Math.floor(istMs / DAY_MS) * DAY_MS + DAILY_REFRESH_IST_MINUTE * MINUTE_MS;
  if (next <= istMs) next += DAY_MS;
  return new Date(next - IST_OFFSET_MS);
}

class ListReadError extends Error {
  constructor(
    message: string,
    /** The same read will fail the same way until the next day's (a 404: no list served there). */
    readonly untilTomorrow = false,
  ) {
    super(message);
  }
}

/**
 * The day's instrument list of NFO (Kite's `GET /instruments/NFO`, or the same CSV from the ticker
 * service), the source of lot and tick sizes before an instrument's first tick. Read at start and
 * every day at 08:45 IST, by each replica into its own memory; a failed read keeps the previous
 * list and is tried again with backoff. After each read the listeners (the instruments' writer)
 * apply it; a failure there counts as a failed read.
 */
@Injectable()
export class InstrumentListService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('InstrumentList');
  private readonly source: ResolvedListSource;
  private list: ReadonlyMap<number, InstrumentInfo> = new Map();
  private readonly listeners: ListListener[] = [];
  private running?: Promise<boolean>;
  private failures = 0;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    @InjectSettings(instrumentsConfig, upstreamConfig)
    private readonly config: InstrumentsConfig & UpstreamConfig,
    private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly timers: SchedulerRegistry,
  ) {
    this.source = resolvedListSource(config);
  }

  /** The listed instrument of `token`, from the newest list read. */
  get(token: number): InstrumentInfo | undefined {
    return this.list.get(token);
  }

  get size(): number {
    return this.list.size;
  }

  get sourceInUse(): ResolvedListSource {
    return this.source;
  }

  onLoaded(listener: ListListener): void {
    this.listeners.push(listener);
  }

  onApplicationBootstrap(): void {
    if (this.source === 'off') {
      this.logger.log(
        'no instrument list (INSTRUMENT_LIST_SOURCE): instruments are described from their tradingsymbols until their first tick',
      );
      return;
    }
    // Never holds the boot: the list is applied to the instruments already known once it is read.
    void this.refresh();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    stopTimer(this.timers, INSTRUMENT_LIST_TIMER);
    this.abort.abort();
  }

  /**
   * Reads the list now (joining a read in flight), applies it and schedules the next read: true
   * when it was read and applied. Never rejects.
   */
  refresh(): Promise<boolean> {
    if (this.source === 'off') return Promise.resolve(false);
    this.running ??= this.readAndApply().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async readAndApply(): Promise<boolean> {
    stopTimer(this.timers, INSTRUMENT_LIST_TIMER);
    try {
      const list = await this.read();
      this.list = list;
      this.metrics.instrumentListSize.set(list.size);
      for (const listener of this.listeners) await listener(list);
      this.metrics.instrumentListRefreshes.inc({ outcome: 'loaded' });
      this.failures = 0;
      this.schedule(nextDailyRefresh(this.clock.now()).getTime() - this.clock.now().getTime());
      return true;
    } catch (error) {
      if (this.stopped) return false;
      this.metrics.instrumentListRefreshes.inc({ outcome: 'failed' });
      this.failures++;
      const tomorrow = error instanceof ListReadError && error.untilTomorrow;
      const retryInMs = tomorrow
        ? nextDailyRefresh(this.clock.now()).getTime() - this.clock.now().getTime()
        : backoff(RETRY, this.failures - 1);
      const kept =
        this.list.size > 0 ? `keeping the previous list (${this.list.size} instruments)` : 'no list yet';
      const line = `instrument list (${this.source}) not read: ${(error as Error).message}; ${kept}, next try in ${Math.round(retryInMs / 60_000)} min`;
      // Warn on the first failure of a run and then now and then, not at every retry.
      if (this.failures === 1 || this.failures % 10 === 0) this.logger.warn(line);
      else this.logger.debug(line);
      this.schedule(retryInMs);
      return false;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    startTimeout(this.timers, INSTRUMENT_LIST_TIMER, Math.max(1000, delayMs), () => void this.refresh());
  }

  private async read(): Promise<ReadonlyMap<number, InstrumentInfo>> {
    const base = this.source === 'kite' ? this.config.KITE_BASE_URL : this.config.TICKER_SERVICE_URL;
    const url = new URL(`instruments/${EXCHANGE}`, base.replace(/\/?$/, '/'));
    const headers: Record<string, string> =
      this.source === 'kite'
        ? {
            'X-Kite-Version': '3',
            Authorization: `token ${this.config.KITE_API_KEY}:${this.config.KITE_ACCESS_TOKEN}`,
          }
        : {};
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let text: string;
    try {
      const response = withBodyCap(
        await fetch(url, { headers, signal: AbortSignal.any([timeout, this.abort.signal]) }),
        MAX_LIST_BYTES,
      );
      if (response.status !== 200) {
        const body = (await response.text().catch(() => '')).slice(0, 200);
        if (response.status === 403 && this.source === 'kite')
          throw new ListReadError(`Kite rejected the access token (403): replace KITE_ACCESS_TOKEN ${body}`);
        throw new ListReadError(
          `GET ${url.pathname} answered ${response.status}${body ? `: ${body}` : ''}`,
          response.status === 404,
        );
      }
      text = await response.text();
    } catch (error) {
      if (error instanceof ListReadError) throw error;
      if (bodyTooLarge(error))
        throw new ListReadError(`GET ${url.pathname}: larger than ${MAX_LIST_BYTES} bytes`);
      if (timeout.aborted)
        throw new ListReadError(`GET ${url.pathname}: no answer within ${REQUEST_TIMEOUT_MS} ms`);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ListReadError(
        `GET ${url.pathname} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
    const parsed = await parseInstrumentList(text);
    if (parsed.skipped > 0)
      this.logger.warn(
        `instrument list: ${parsed.skipped} lines left out (first: ${parsed.firstProblem}); ${parsed.instruments.size} read`,
      );
    this.logger.log(`instrument list read from ${this.source}: ${parsed.instruments.size} instruments`);
    return parsed.instruments;
  }
}
