import { InitialSchema1764300000000 } from './1764300000000-initial-schema';
import { TimescaleDb1764300000001 } from './1764300000001-timescaledb';
import { FoChainViews1764300000060 } from './1764300000060-fo-chain-views';
import { FoChainLevels1764300000100 } from './1764300000100-fo-chain-levels';
import { BackfillJobIndexes1764300000200 } from './1764300000200-backfill-job-indexes';
import { MarketSessions1764300000400 } from './1764300000400-market-sessions';
import { StreamGapTrigger1764300000500 } from './1764300000500-stream-gap-trigger';
import { InstrumentSources1764300000600 } from './1764300000600-instrument-sources';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  InitialSchema1764300000000,
  TimescaleDb1764300000001,
  FoChainViews1764300000060,
  FoChainLevels1764300000100,
  BackfillJobIndexes1764300000200,
  MarketSessions1764300000400,
  StreamGapTrigger1764300000500,
  InstrumentSources1764300000600,
];
