import { DynamicModule, Module } from '@nestjs/common';
import { ConfigController } from './config.controller';

/**
 * `GET /api/v1/config/flags`: the effective settings, and the backfill's ticker window shift when the
 * backfill runs. Apart from ConfigModule because it reads a feature module, which config must not.
 */
@Module({})
export class ConfigFlagsModule {
  /** `backfill`: the BackfillModule object AppModule imports (see HealthModule.forRoot). */
  static forRoot(backfill: DynamicModule): DynamicModule {
    return { module: ConfigFlagsModule, imports: [backfill], controllers: [ConfigController] };
  }
}
