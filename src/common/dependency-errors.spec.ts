import { QueryFailedError } from 'typeorm';
import { isConnectionError } from './dependency-errors';

const pgError = (code: string, message = 'pg'): Error => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['a reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a connection exception (08006)', pgError('08006')],
    ['an administrator shutdown (57P01)', pgError('57P01')],
    ['too many connections (53300)', pgError('53300')],
    ['a statement timeout (57014)', pgError('57014', 'canceling statement due to statement timeout')],
    ['a client read timeout', new Error('Query read timeout')],
    ['an unexpected end', new Error('Connection terminated unexpectedly')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a closed Redis connection', new Error('Connection is closed.')],
    ['one wrapped by TypeORM', new QueryFailedError('SELECT 1', [], pgError('08001'))],
    ['one wrapped as a cause', new Error('outer', { cause: pgError('ECONNREFUSED') })],
  ])('is true for %s', (_what, error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', new QueryFailedError('INSERT', [], pgError('23505'))],
    ['an invalid date (22008)', pgError('22008')],
    ['a syntax error (42601)', pgError('42601')],
    ['a plain error', new Error('something else')],
    ['nothing', undefined],
  ])('is false for %s', (_what, error) => {
    expect(isConnectionError(error)).toBe(false);
  });
});
