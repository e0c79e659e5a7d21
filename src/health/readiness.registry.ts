import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult } from '@nestjs/terminus';

export type ReadinessCheck = () => Promise<HealthIndicatorResult> | HealthIndicatorResult;

/**
 * Feature modules own their readiness indicators (the upstream circuit, the tick backlog) and
 * register them here; the health controller runs them beside the database and Redis checks.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  all(): ReadinessCheck[] {
    return [...this.checks.values()];
  }

  /** The registered checks with their names. */
  entries(): Array<[string, ReadinessCheck]> {
    return [...this.checks.entries()];
  }
}
