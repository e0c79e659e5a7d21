import { InitialSchema1764300000000 } from './1764300000000-initial-schema';
import { TimescaleDb1764300000001 } from './1764300000001-timescaledb';
import { FoChainViews1764300000060 } from './1764300000060-fo-chain-views';
import { BackfillJobIndexes1764300000200 } from './1764300000200-backfill-job-indexes';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  InitialSchema1764300000000,
  TimescaleDb1764300000001,
  FoChainViews1764300000060,
  BackfillJobIndexes1764300000200,
];
