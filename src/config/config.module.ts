import { DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, Clock } from '../contracts/market-time';
import { AppConfig } from './app-config';

/**
 * What the application is given at boot: the validated configuration (`AppConfig`) and the clock
 * (`CLOCK`; tests and the demo pass their own). Global, as the database, Redis and metrics are: nearly
 * every provider reads them, and they depend on nothing of the application.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, clock: Clock): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: CLOCK, useValue: clock },
      ],
      exports: [AppConfig, CLOCK],
    };
  }
}
