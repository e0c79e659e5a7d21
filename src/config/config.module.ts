import { DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, Clock } from '../contracts/market-time';
import { LoadedConfig } from './config.loader';

/**
 * What the application is given at boot: `@nestjs/config`'s module with every feature's namespace,
 * validated (`loadConfig`), and the clock (`CLOCK`; tests and the demo pass their own). Global, as
 * the database, Redis and metrics are: nearly every provider reads them, and they depend on nothing
 * of the application.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(loaded: LoadedConfig<object>, clock: Clock): DynamicModule {
    return {
      module: ConfigModule,
      imports: [loaded.module],
      providers: [{ provide: CLOCK, useValue: clock }],
      exports: [CLOCK],
    };
  }
}
