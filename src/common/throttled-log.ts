import { Logger } from '@nestjs/common';

/** How long after a reason's warning its further lines go to debug level. */
export const THROTTLE_PERIOD_MS = 10 * 60_000;

type Message = string | Record<string, unknown>;

/**
 * One log line per reason at the level given (warn by default), the rest at debug: a broken sender
 * repeating the same mistake thousands of times a minute must not flood the log, while each new
 * kind of mistake is seen at once. A reason warns again once THROTTLE_PERIOD_MS has passed since its
 * last warning, saying how many of its lines went to debug meanwhile; the exact counts are in the
 * caller's metric, labelled by the same reason. Reasons are a bounded set (reject reasons, field
 * names), so the memory is too.
 */
export class ThrottledLog {
  private readonly reasons = new Map<string, { warnedAt: number; quiet: number }>();

  /** Warns once per reason for the life of the process; every later line of the reason goes to debug. */
  static once(logger: Logger, level: 'warn' | 'error' = 'warn'): ThrottledLog {
    return new ThrottledLog(logger, level, Date.now, Number.POSITIVE_INFINITY);
  }

  constructor(
    private readonly logger: Logger,
    private readonly level: 'warn' | 'error' = 'warn',
    private readonly now: () => number = Date.now,
    private readonly periodMs = THROTTLE_PERIOD_MS,
  ) {}

  /**
   * Logs `message` (a text line, or the fields of a JSON line) under `reason`; `debug: false` drops
   * it instead of logging it at debug level when the reason is quiet (a line that says nothing the
   * reason does not, on a path that sees thousands a second).
   */
  report(reason: string, message: Message, { debug = true }: { debug?: boolean } = {}): void {
    const at = this.now();
    const state = this.reasons.get(reason);
    if (state && at - state.warnedAt < this.periodMs) {
      state.quiet++;
      if (debug) this.logger.debug(message);
      return;
    }
    const quiet = state?.quiet ?? 0;
    this.reasons.set(reason, { warnedAt: at, quiet: 0 });
    const until = Number.isFinite(this.periodMs) ? ` for ${Math.round(this.periodMs / 60_000)} min` : '';
    const note =
      `${quiet > 0 ? `${quiet} more ${reason} since the last warning; ` : ''}` +
      `further ${reason} lines are logged at debug level${until}`;
    this.logger[this.level](
      typeof message === 'string' ? `${message}; ${note}` : { ...message, suppressed: quiet, throttle: note },
    );
  }
}
