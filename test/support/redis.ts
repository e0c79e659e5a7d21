import Redis from 'ioredis';
import { TEST_REDIS_URL } from './env';

export { deleteKeys } from '../../scripts/support/redis';

export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
}
