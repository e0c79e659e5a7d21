import { DynamicModule, Module, Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependencyHealthIndicator } from './dependency.health';
import { HealthController } from './health.controller';

/**
 * Liveness and readiness. The database and Redis checks are its own; every other check is the
 * indicator a feature module exports (terminus' pattern: the module owns its indicator, the
 * controller lists them).
 */
@Module({})
export class HealthModule {
  /**
   * `features`: the modules whose indicators the controller lists, the very objects AppModule
   * imports. Nest 11 tells dynamic modules apart by object, not by content, so building
   * `BackfillModule.forRoot(config)` again here would start a second queue, worker and scheduler.
   */
  static forRoot(features: Array<Type | DynamicModule>): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...features],
      controllers: [HealthController],
      providers: [DependencyHealthIndicator],
    };
  }
}
