import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CLOCK, Clock, MarketCalendar, SystemClock } from '../contracts/market-time';

/** Provides the injectable clock (`CLOCK`) and the NSE calendar built from the configured holidays. */
@Global()
@Module({})
export class MarketTimeModule {
  static forRoot(clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: MarketTimeModule,
      providers: [
        { provide: CLOCK, useValue: clock },
        {
          provide: MarketCalendar,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => new MarketCalendar(config.MARKET_HOLIDAYS),
        },
      ],
      exports: [CLOCK, MarketCalendar],
    };
  }
}
