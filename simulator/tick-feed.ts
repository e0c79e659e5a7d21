// Ticks on `<prefix>:options` and `<prefix>:underlying`: live as the clock advances, one minute at
// a time on demand, or in bulk at a fixed rate for benchmarks. Every payload comes from the market
// model, so a bar built from the ticks of a minute equals that minute's history candle.

import { Clock, MINUTE_MS, floorToMinute } from '../src/contracts/market-time';
import type { OptionTick, UnderlyingIndexTick, UnderlyingMessage } from '../src/contracts/ticker.contracts';
import type { SimInstrument, Universe } from './instruments';
import type { SimulatorKnobs, SimulatorStats } from './knobs';
import type { MarketModel, TickState } from './market-model';
import { indexTick, offHoursBar, optionTick, quotePoll } from './payloads';
import type { Message, Publisher } from './redis-publisher';
import type { UnderlyingName } from './underlyings';

export interface TickFeedDeps {
  model: MarketModel;
  universe: Universe;
  clock: Clock;
  publisher: Publisher;
  channels: { options: string; underlying: string };
  knobs: () => SimulatorKnobs;
  stats: SimulatorStats;
  activeTokens: () => number[];
  log: (line: string) => void;
}

export interface BulkPublishOptions {
  /** Instruments to replay (options and futures); default the first `instruments` liquid ones. */
  tokens?: number[];
  /** How many instruments when `tokens` is not given (default 50). */
  instruments?: number;
  /** Total ticks per second across all instruments. */
  ticksPerSecond: number;
  /** Stops after this long (real time). */
  durationMs: number;
  /** Stops after this many ticks. */
  maxTicks?: number;
  /** First minute replayed (default: the reference session's open). Ticks keep their model `ts`. */
  fromMinute?: Date | string | number;
}

export interface BulkPublishResult {
  published: number;
  elapsedMs: number;
  ratePerSec: number;
  fromMinute: string;
  /** Per instrument: ticks sent and the last minute whose ticks were all sent (ISO UTC), if any. */
  perToken: Array<{ token: number; ticks: number; lastCompleteMinute: string | null }>;
}

interface Cursor {
  /** Ticks with `atMs` up to here are published. */
  publishedUntil: number;
  minute: number;
  states: TickState[];
  last?: TickState;
  /** Model time of the last tick sent, trade or repeat. */
  lastSentAt: number;
}

/** How far back the live loop catches up after a pause or a clock jump. */
const MAX_CATCH_UP_MS = MINUTE_MS;
const MAX_UNDERLYING_CATCH_UP_S = 60;
const NO_TRADE_STATE: TickState = {
  atMs: 0,
  price: 0,
  volume: 0,
  oi: 0,
  greeks: { iv: 0, delta: 0, gamma: 0, theta: 0, vega: 0 },
  underlying: null,
};

export function toMs(minute: Date | string | number): number {
  const ms =
    minute instanceof Date ? minute.getTime() : typeof minute === 'number' ? minute : Date.parse(minute);
  if (Number.isNaN(ms)) throw new Error(`invalid instant: ${String(minute)}`);
  return ms;
}

export class TickFeed {
  private readonly cursors = new Map<number, Cursor>();
  private underlyingSecond = 0;
  private timer?: NodeJS.Timeout;
  private busy = false;
  private stopped = false;
  private publishFailing = false;

  constructor(private readonly deps: TickFeedDeps) {}

  /** The exact `<prefix>:options` payloads of a minute (empty when the instrument did not trade). */
  ticksFor(token: number, minute: Date | string | number): OptionTick[] {
    const instrument = this.instrument(token);
    const volumeZero = this.deps.knobs().tickVolumeZero;
    return this.deps.model.ticks(instrument, toMs(minute)).map((s) => optionTick(instrument, s, volumeZero));
  }

  /** The exact index ticks (shape b) of a minute on `<prefix>:underlying`. */
  indexTicksFor(token: number, minute: Date | string | number): UnderlyingIndexTick[] {
    const instrument = this.instrument(token);
    if (instrument.kind !== 'INDEX') throw new Error(`${instrument.tradingsymbol} is not an index`);
    return this.indexTicks(instrument.name, this.deps.model.ticks(instrument, toMs(minute)));
  }

  /** Publishes a whole minute at once; returns the number of messages. */
  async publishMinute(token: number, minute: Date | string | number): Promise<number> {
    const instrument = this.instrument(token);
    const messages: Message[] =
      instrument.kind === 'INDEX'
        ? this.indexTicksFor(token, minute).map((t) => [this.deps.channels.underlying, JSON.stringify(t)])
        : this.ticksFor(token, minute).map((t) => [this.deps.channels.options, JSON.stringify(t)]);
    await this.publish(messages);
    return messages.length;
  }

  start(intervalMs: number): void {
    this.stopped = false;
    const now = this.deps.clock.now().getTime();
    this.underlyingSecond = Math.floor(now / 1000);
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Let an in-flight publish settle before the connection is closed.
    for (let i = 0; this.busy && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Starts the live stream of `token` from now (earlier ticks are history, not live). */
  track(token: number): void {
    const now = this.deps.clock.now().getTime();
    this.cursors.set(token, { publishedUntil: now, minute: -1, states: [], lastSentAt: now });
  }

  untrack(token: number): void {
    this.cursors.delete(token);
  }

  untrackAll(): void {
    this.cursors.clear();
  }

  /** Underlying messages restart from now (no catch-up over a clock jump). */
  resetUnderlying(): void {
    this.underlyingSecond = Math.floor(this.deps.clock.now().getTime() / 1000);
  }

  /** One pass of the live loop; public so tests can drive it without waiting for the timer. */
  async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const now = this.deps.clock.now().getTime();
      const knobs = this.deps.knobs();
      const messages = knobs.liveTicks ? this.dueMessages(now, knobs) : [];
      if (!knobs.liveTicks) this.skipTo(now);
      await this.publish(messages);
    } catch (error) {
      this.deps.stats.ticks.publishErrors++;
      if (!this.publishFailing) this.deps.log(`live ticks: publish failed: ${(error as Error).message}`);
      this.publishFailing = true;
    } finally {
      this.busy = false;
    }
  }

  async bulkPublish(options: BulkPublishOptions): Promise<BulkPublishResult> {
    const { model, universe, channels } = this.deps;
    if (!(options.ticksPerSecond > 0)) throw new Error('ticksPerSecond must be positive');
    if (!(options.durationMs > 0)) throw new Error('durationMs must be positive');
    const instruments = (
      options.tokens ??
      universe.instruments
        .filter((i) => i.kind !== 'INDEX' && i.noTradeProbability === 0)
        .slice(0, options.instruments ?? 50)
        .map((i) => i.instrument_token)
    ).map((token) => this.instrument(token));
    const index = instruments.find((i) => i.kind === 'INDEX');
    if (index)
      throw new Error(`bulk publishing replays options and futures only, not ${index.tradingsymbol}`);
    if (instruments.length === 0) throw new Error('no instruments to publish');
    const start =
      options.fromMinute !== undefined
        ? floorToMinute(toMs(options.fromMinute)).getTime()
        : model.calendar.lookbackStart(new Date(`${universe.referenceDate}T23:59:59+05:30`), 1).getTime();
    const volumeZero = this.deps.knobs().tickVolumeZero;
    const streams = instruments.map((instrument) => ({
      instrument,
      minute: start - MINUTE_MS,
      states: [] as TickState[],
      next: 0,
      ticks: 0,
      lastComplete: null as number | null,
    }));
    const nextSessionMinute = (after: number): number => {
      let minute = after + MINUTE_MS;
      for (
        let guard = 0;
        !model.calendar.isSessionMinute(new Date(minute)) && guard < 60 * 24 * 10;
        guard++
      ) {
        minute += MINUTE_MS;
      }
      return minute;
    };
    const maxTicks = options.maxTicks ?? Number.POSITIVE_INFINITY;
    const began = Date.now();
    let published = 0;
    let cursor = 0;
    while (!this.stopped && published < maxTicks) {
      const elapsed = Date.now() - began;
      if (elapsed >= options.durationMs) break;
      const due = Math.min(Math.floor((elapsed * options.ticksPerSecond) / 1000) + 1, maxTicks) - published;
      if (due <= 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      const batch: Message[] = [];
      for (let i = 0; i < Math.min(due, 5_000); i++) {
        const stream = streams[cursor];
        cursor = (cursor + 1) % streams.length;
        while (stream.next >= stream.states.length) {
          if (stream.states.length > 0) stream.lastComplete = stream.minute;
          stream.minute = nextSessionMinute(stream.minute);
          stream.states = model.ticks(stream.instrument, stream.minute);
          stream.next = 0;
        }
        const state = stream.states[stream.next++];
        stream.ticks++;
        batch.push([channels.options, JSON.stringify(optionTick(stream.instrument, state, volumeZero))]);
      }
      await this.publish(batch);
      published += batch.length;
    }
    const elapsedMs = Date.now() - began;
    return {
      published,
      elapsedMs,
      ratePerSec: elapsedMs > 0 ? Math.round((published * 1000) / elapsedMs) : published,
      fromMinute: new Date(start).toISOString(),
      perToken: streams.map((s) => {
        const complete = s.states.length > 0 && s.next >= s.states.length ? s.minute : s.lastComplete;
        return {
          token: s.instrument.instrument_token,
          ticks: s.ticks,
          lastCompleteMinute: complete === null ? null : new Date(complete).toISOString(),
        };
      }),
    };
  }

  private instrument(token: number): SimInstrument {
    const instrument = this.deps.universe.get(token);
    if (!instrument) throw new Error(`unknown instrument token ${token}`);
    return instrument;
  }

  private async publish(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    await this.deps.publisher.publishMany(messages);
    this.publishFailing = false;
    for (const [channel] of messages) {
      if (channel === this.deps.channels.options) this.deps.stats.ticks.options++;
      else this.deps.stats.ticks.underlying++;
    }
  }

  private skipTo(now: number): void {
    for (const cursor of this.cursors.values()) {
      cursor.publishedUntil = now;
      cursor.lastSentAt = now;
    }
    this.underlyingSecond = Math.floor(now / 1000);
  }

  private dueMessages(now: number, knobs: SimulatorKnobs): Message[] {
    const { model, universe, channels } = this.deps;
    const down = new Set(knobs.downTokens);
    const messages: Message[] = [];
    const currentMinute = floorToMinute(now).getTime();
    // Between trades the ticker keeps sending the last state (quote updates) every 1/tickRate s;
    // repeating it leaves the minute's bar unchanged. Only within the minute of that trade, so a
    // minute without trade stays without ticks.
    const period = knobs.tickRate > 0 ? 1000 / knobs.tickRate : Number.POSITIVE_INFINITY;
    for (const [token, cursor] of this.cursors) {
      const instrument = universe.get(token);
      if (!instrument || instrument.kind === 'INDEX' || down.has(token)) {
        cursor.publishedUntil = now;
        cursor.lastSentAt = now;
        continue;
      }
      if (cursor.publishedUntil > now) cursor.publishedUntil = cursor.lastSentAt = now;
      const from = Math.max(cursor.publishedUntil, now - MAX_CATCH_UP_MS);
      const send = (state: TickState): void => {
        messages.push([
          channels.options,
          JSON.stringify(optionTick(instrument, state, knobs.tickVolumeZero)),
        ]);
        cursor.lastSentAt = state.atMs;
      };
      const repeatUntil = (limit: number): void => {
        const last = cursor.last;
        if (!last || period === Number.POSITIVE_INFINITY) return;
        const minuteEnd = floorToMinute(last.atMs).getTime() + MINUTE_MS;
        let at = cursor.lastSentAt + period;
        if (at <= from) at = from + period;
        for (; at < limit && at < minuteEnd; at += period) send({ ...last, atMs: at });
      };
      for (let minute = floorToMinute(from).getTime(); minute <= currentMinute; minute += MINUTE_MS) {
        if (cursor.minute !== minute) {
          cursor.minute = minute;
          cursor.states = model.ticks(instrument, minute);
        }
        for (const state of cursor.states) {
          if (state.atMs <= from || state.atMs > now) continue;
          repeatUntil(state.atMs);
          send(state);
          cursor.last = state;
        }
      }
      repeatUntil(now + 1);
      cursor.publishedUntil = now;
    }
    messages.push(...this.underlyingMessages(now, down));
    return messages;
  }

  /** The ticker polls each underlying every second: shape (a) in session, (c) outside; (b) for subscribed indices. */
  private underlyingMessages(now: number, down: ReadonlySet<number>): Message[] {
    const { model, universe, channels } = this.deps;
    const nowSecond = Math.floor(now / 1000);
    // A clock set backwards (tests) starts a new timeline.
    if (nowSecond < this.underlyingSecond) this.underlyingSecond = 0;
    const first = Math.max(this.underlyingSecond + 1, nowSecond - MAX_UNDERLYING_CATCH_UP_S + 1);
    this.underlyingSecond = Math.max(this.underlyingSecond, nowSecond);
    if (first > nowSecond) return [];
    const names = new Set<UnderlyingName>(['NIFTY']);
    const indices = new Set<UnderlyingName>();
    for (const token of this.deps.activeTokens()) {
      const instrument = universe.get(token);
      if (!instrument || down.has(token)) continue;
      names.add(instrument.name);
      if (instrument.kind === 'INDEX' && this.cursors.has(token)) indices.add(instrument.name);
    }
    const messages: Message[] = [];
    for (let second = first; second <= nowSecond; second++) {
      const atMs = second * 1000;
      const inSession = model.calendar.isSessionMinute(floorToMinute(atMs));
      for (const name of names) {
        let payload: UnderlyingMessage | undefined;
        if (inSession) {
          const day = model.dayRange(name, atMs);
          if (!day) continue;
          payload = quotePoll(name, day, atMs);
          if (indices.has(name)) {
            const state = { ...NO_TRADE_STATE, atMs, price: model.indexPrice(name, atMs) };
            const tick = indexTick(name, state, day, model.previousClose(name, atMs));
            messages.push([channels.underlying, JSON.stringify(tick)]);
          }
        } else {
          const day = model.lastSessionRange(name, atMs);
          if (day) payload = offHoursBar(name, day, atMs);
        }
        if (payload) messages.push([channels.underlying, JSON.stringify(payload)]);
      }
    }
    return messages;
  }

  private indexTicks(name: UnderlyingName, states: TickState[]): UnderlyingIndexTick[] {
    const { model } = this.deps;
    if (states.length === 0) return [];
    const previousClose = model.previousClose(name, states[0].atMs);
    return states.map((state) => indexTick(name, state, model.dayRange(name, state.atMs)!, previousClose));
  }
}
