import { DynamicModule, Module } from '@nestjs/common';
import { provideSettings } from '../config/settings';
import { FLAGS_NAMESPACES } from './flags.config';
import { FlagsController } from './flags.controller';

/**
 * `GET /api/v1/config/flags`: the effective settings, and the backfill's ticker window shift when the
 * backfill runs. A module of its own, at the top: it reads the config and a feature module, and
 * config, which every module uses, must not import a feature module.
 */
@Module({})
export class FlagsModule {
  /** `backfill`: the BackfillModule object AppModule imports (see HealthModule.forRoot). */
  static forRoot(backfill: DynamicModule): DynamicModule {
    return {
      module: FlagsModule,
      imports: [backfill],
      controllers: [FlagsController],
      providers: [provideSettings(...FLAGS_NAMESPACES)],
    };
  }
}
