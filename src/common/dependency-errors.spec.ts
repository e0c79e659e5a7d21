import { QueryFailedError } from 'typeorm';
import { isConnectionError, isStatementTimeout, sqlstateOf } from './dependency-errors';

const pgError = (code: string, message = 'pg'): Error => Object.assign(new Error(message), { code });
const statementTimeout = new QueryFailedError(
  'INSERT',
  [],
  pgError('57014', 'canceling statement due to statement timeout'),
);

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
    ['a statement timeout (57014): the server answered', statementTimeout],
    ['a unique violation (23505)', new QueryFailedError('INSERT', [], pgError('23505'))],
    ['an invalid date (22008)', pgError('22008')],
    ['a syntax error (42601)', pgError('42601')],
    ['a plain error', new Error('something else')],
    ['nothing', undefined],
  ])('is false for %s', (_what, error) => {
    expect(isConnectionError(error)).toBe(false);
  });
});

describe('isStatementTimeout', () => {
  it('is true for a statement cancelled at statement_timeout, wrapped or not', () => {
    expect(isStatementTimeout(statementTimeout)).toBe(true);
    expect(isStatementTimeout(pgError('57014'))).toBe(true);
  });

  it('is false for other failures, a client that gave up waiting included', () => {
    expect(isStatementTimeout(pgError('57P01'))).toBe(false);
    expect(isStatementTimeout(new Error('Query read timeout'))).toBe(false);
    expect(isStatementTimeout(pgError('23505'))).toBe(false);
  });
});

describe('sqlstateOf', () => {
  it("finds pg's SQLSTATE through TypeORM's wrapper and Node's cause", () => {
    expect(sqlstateOf(statementTimeout)).toBe('57014');
    expect(sqlstateOf(new Error('wrapped', { cause: pgError('P0001') }))).toBe('P0001');
  });

  it('is undefined without one, a socket error included', () => {
    expect(sqlstateOf(new Error('Connection terminated unexpectedly'))).toBeUndefined();
    expect(sqlstateOf(pgError('EPIPE'))).toBeUndefined();
    expect(sqlstateOf(pgError('ECONNREFUSED'))).toBeUndefined();
  });
});
