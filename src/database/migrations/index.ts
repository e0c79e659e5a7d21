import { InitialSchema1764300000000 } from './1764300000000-initial-schema';
import { TimescaleDb1764300000001 } from './1764300000001-timescaledb';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [InitialSchema1764300000000, TimescaleDb1764300000001];
