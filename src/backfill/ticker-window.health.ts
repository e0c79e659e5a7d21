import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { TickerWindowService } from './ticker-window.service';

/**
 * The ticker's window shift in use and whether it is verified. Reported, never failed: an unverified
 * shift makes coverage cautious, it does not stop the API.
 */
@Injectable()
export class TickerWindowHealthIndicator {
  constructor(
    private readonly window: TickerWindowService,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key: string): HealthIndicatorResult {
    const state = this.window.snapshot;
    return this.health.check(key).up({
      mode: state.mode,
      shift_minutes: state.shiftMinutes,
      verified: state.verified,
      observed_shift_minutes: state.observedShiftMinutes,
      reason: state.reason,
    });
  }
}
