import { MigrationInterface, QueryRunner } from 'typeorm';

// The trading calendar as the service knows it (MARKET_HOLIDAYS, MARKET_SPECIAL_SESSIONS), one row per
// session, so that SQL run outside the service (TEST_QUERIES.sql) decides session minutes the same way.
// The service writes the rows at boot (MarketSessionsRepository); the migration only makes the table.
export class MarketSessions1764300000400 implements MigrationInterface {
  name = 'MarketSessions1764300000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS market_sessions (
        session_date date PRIMARY KEY,
        opens_at timestamptz NOT NULL,
        closes_at timestamptz NOT NULL,
        special boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT market_sessions_hours CHECK (closes_at > opens_at)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS market_sessions`);
  }
}
