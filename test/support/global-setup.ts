import { postgresProblem } from '../../scripts/support/postgres';
import { redisProblem } from '../../scripts/support/redis';
import { TEST_PG_ADMIN_URL, TEST_REDIS_URL } from './env';

// Fails the run at once, with the command that fixes it, when a shared service is down.
export default async function globalSetup(): Promise<void> {
  const postgres = await postgresProblem(TEST_PG_ADMIN_URL);
  if (postgres)
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_PG_ADMIN_URL} (${postgres}); ` +
        'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  const redis = await redisProblem(TEST_REDIS_URL);
  if (redis)
    throw new Error(
      `Redis is not reachable at ${TEST_REDIS_URL} (${redis}); ` +
        'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
}
