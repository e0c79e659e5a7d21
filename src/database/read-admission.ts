import { IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  OnModuleDestroy,
  UseInterceptors,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { E_TIMEOUT, Semaphore, withTimeout } from 'async-mutex';
import { Observable, catchError, finalize, from, mergeMap, throwError } from 'rxjs';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { httpConfig, HttpConfig } from '../common/http.config';
import { READ_DATA_SOURCE } from './data-source';
import { MetricsService } from '../metrics/metrics.service';
import { OVERLOAD_RETRY_AFTER_SECONDS, ServiceUnavailableError } from '../common/service-unavailable';
import { startInterval, stopTimer } from '../common/named-timers';

/**
 * Past this event-loop delay (p99 of the last half second) at most LAGGING_READS_IN_FLIGHT reads are
 * served at once: a replica's reads are bounded by its one JavaScript thread (parsing rows, writing
 * JSON) as much as by its connections, and that thread also flushes the stream's bars and runs the
 * backfill.
 */
export const READ_LOOP_DELAY_LIMIT_MS = 100;
/**
 * Reads served at once while the loop lags and the replica refuses nothing yet; beyond them a read is
 * refused at once. Not one: a page opening fires a handful of reads at once, and a lag of a few
 * hundred milliseconds (a collection, a large answer) must not refuse them. Once refusals have begun
 * (a storm), one read at a time while the loop lags: a refusal costs a fiftieth of a read, and every
 * further read in flight under lag was measured to slow all answers by seconds.
 */
export const LAGGING_READS_IN_FLIGHT = 4;
/**
 * Refusals per admitted read that a replica answers without raising Retry-After: a refusal costs about
 * a fiftieth of a read here, so beyond this the refusals themselves would take the thread. Above it,
 * Retry-After grows with the ratio (up to MAX_OVERLOAD_RETRY_AFTER_SECONDS), spreading the clients out.
 */
const REFUSALS_PER_ADMISSION = 10;
const MAX_OVERLOAD_RETRY_AFTER_SECONDS = 30;
const SAMPLE_MS = 500;
/** Name of the sampler in the SchedulerRegistry. */
export const READ_ADMISSION_SAMPLER = 'read-admission:sample';

/** pg-pool's message when no connection of the pool came free (or could be opened) in time. */
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect';

/**
 * Admission control of the read API, per replica: at most API_READS_IN_FLIGHT reads are served at
 * once, at most API_READ_QUEUE_LENGTH wait for a slot, none longer than API_READ_QUEUE_WAIT_MS. A read
 * beyond that is refused at once with a 503 and `Retry-After`, instead of queueing for the pool's
 * connections until pg-pool gives up (5 s) and the client gets a 500. The slots are a counting
 * semaphore (async-mutex); the queue's length is counted here, since the library keeps no bound.
 * While the event loop lags past READ_LOOP_DELAY_LIMIT_MS, a read beyond LAGGING_READS_IN_FLIGHT in
 * flight (beyond the first, once reads are being refused) is refused at once. Retry-After is 1 s, longer while refusals far outnumber admissions.
 */
@Injectable()
export class ReadAdmission implements OnModuleDestroy {
  private readonly slots: Semaphore;
  private waiting = 0;
  private inFlight = 0;
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private loopDelayMs = 0;
  private admitted = 0;
  private refused = 0;
  /** Refusals per admission, smoothed over a few samples. */
  private refusalRatio = 0;

  constructor(
    @Inject(httpConfig.KEY) private readonly config: HttpConfig,
    private readonly metrics: MetricsService,
    @InjectDataSource(READ_DATA_SOURCE) private readonly readDataSource: DataSource,
    private readonly timers: SchedulerRegistry,
  ) {
    this.slots = new Semaphore(config.API_READS_IN_FLIGHT);
    this.loopDelay.enable();
    startInterval(timers, READ_ADMISSION_SAMPLER, SAMPLE_MS, () => this.sample());
  }

  onModuleDestroy(): void {
    stopTimer(this.timers, READ_ADMISSION_SAMPLER);
    this.loopDelay.disable();
  }

  private sample(): void {
    this.loopDelayMs = this.loopDelay.percentile(99) / 1e6;
    this.loopDelay.reset();
    const ratio = this.refused / Math.max(1, this.admitted);
    this.refusalRatio = 0.6 * this.refusalRatio + 0.4 * ratio;
    this.admitted = 0;
    this.refused = 0;
  }

  /** A slot, or a ServiceUnavailableError; the returned function gives the slot back (once). */
  async admit(): Promise<() => void> {
    if (this.lagging())
      throw this.refuse(`server busy: event loop ${Math.round(this.loopDelayMs)} ms behind`);
    const free = this.slots.getValue() > 0 && this.waiting === 0;
    if (!free && this.waiting >= this.config.API_READ_QUEUE_LENGTH) throw this.refuse();
    this.waiting++;
    this.metrics.apiReadsWaiting.set(this.waiting);
    let release: () => void;
    try {
      [, release] = await withTimeout(this.slots, this.config.API_READ_QUEUE_WAIT_MS).acquire();
    } catch (error) {
      if (error !== E_TIMEOUT) throw error;
      throw this.refuse();
    } finally {
      this.waiting--;
      this.metrics.apiReadsWaiting.set(this.waiting);
    }
    this.metrics.apiReadsInFlight.inc();
    this.inFlight++;
    this.admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.metrics.apiReadsInFlight.dec();
      release();
    };
  }

  /**
   * Whether the loop lags with enough reads in flight. A replica that is already refusing (a storm)
   * serves one read at a time while it lags; one that is not (a page opening its panels) serves a few.
   */
  private lagging(): boolean {
    if (this.loopDelayMs <= READ_LOOP_DELAY_LIMIT_MS) return false;
    const shedding = this.waiting > 0 || this.refused > 0 || this.refusalRatio > 0.01;
    return this.inFlight >= (shedding ? 1 : LAGGING_READS_IN_FLIGHT);
  }

  /**
   * A read that gave up waiting for a connection of its pool while every connection was in use: the
   * replica is busy, not the database down (an alert on database 503s must not fire on a storm).
   */
  busyOf(error: unknown): ServiceUnavailableError | undefined {
    if ((error as Error)?.message !== POOL_WAIT_TIMEOUT) return undefined;
    const pool = (this.readDataSource.driver as PostgresDriver).master as
      { totalCount: number; idleCount: number; options: { max: number } } | undefined;
    if (!pool || pool.totalCount < pool.options.max || pool.idleCount > 0) return undefined;
    return this.refuse();
  }

  private refuse(
    message = `server busy: more than ${this.config.API_READS_IN_FLIGHT} reads in flight`,
  ): ServiceUnavailableError {
    this.metrics.apiReadsRefused.inc();
    this.refused++;
    const retryAfter = Math.min(
      MAX_OVERLOAD_RETRY_AFTER_SECONDS,
      Math.max(OVERLOAD_RETRY_AFTER_SECONDS, Math.ceil(this.refusalRatio / REFUSALS_PER_ADMISSION)),
    );
    return new ServiceUnavailableError(message, 'overload', retryAfter);
  }
}

/** Holds a read slot from before the route's pipes until its answer is written (or the client left). */
@Injectable()
export class ReadAdmissionInterceptor implements NestInterceptor {
  constructor(private readonly admission: ReadAdmission) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return from(this.admission.admit()).pipe(
      mergeMap((release) =>
        next.handle().pipe(
          catchError((error: unknown) => throwError(() => this.admission.busyOf(error) ?? error)),
          finalize(release),
        ),
      ),
    );
  }
}

/** A route that reads the database for a client: admitted through ReadAdmission, on the read pool. */
export const AdmittedRead = (): MethodDecorator & ClassDecorator =>
  applyDecorators(UseInterceptors(ReadAdmissionInterceptor));
