// Which driver errors a run retries, and how: a lost connection (replaced on the next statement), a transient
// conflict (the same transaction again), a data problem (bisected, never retried), anything else. Errors as `pg`
// and mysql2 raise them (code / errno / fatal as the drivers set them).
import { describe, expect, it } from 'vitest';
import { TargetError } from '../../src/errors.js';
import { classifyMysqlError } from '../../src/target/mysql/mysql-database.js';
import { classifyError } from '../../src/target/postgres/postgres-database.js';
import { runLockLost } from '../../src/target/sql-database.js';
import { TargetDataError } from '../../src/target/target.js';

const err = (message: string, fields: Record<string, unknown> = {}): Error => Object.assign(new Error(message), fields);

/** What the runner sees: TargetDataError → 'data'; TargetError → its code. */
function outcome(e: Error): string {
  if (e instanceof TargetDataError) return 'data';
  if (e instanceof TargetError) return e.code;
  return 'other';
}

describe('PostgreSQL errors', () => {
  it.each([
    ['a reset socket', err('read ECONNRESET', { code: 'ECONNRESET' }), 'target-connection-lost'],
    ['a refused connection (server down)', err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' }), 'target-connection-lost'],
    ['a write on a closed socket', err('write EPIPE', { code: 'EPIPE' }), 'target-connection-lost'],
    ['a connection ended under a query', err('Connection terminated unexpectedly'), 'target-connection-lost'],
    ['a client whose connection failed', err('Client has encountered a connection error and is not queryable'), 'target-connection-lost'],
    ['a connect timeout (connectionTimeoutMillis)', err('Connection terminated due to connection timeout'), 'target-connection-lost'],
    ['pg_ctl stop -m fast (admin shutdown)', err('terminating connection due to administrator command', { code: '57P01' }), 'target-connection-lost'],
    ['a server starting up', err('the database system is starting up', { code: '57P03' }), 'target-connection-lost'],
    ['connection failure (class 08)', err('connection failure', { code: '08006' }), 'target-connection-lost'],
    ['a deadlock', err('deadlock detected', { code: '40P01' }), 'target-busy'],
    ['a serialization failure', err('could not serialize access', { code: '40001' }), 'target-busy'],
    ['a lock timeout', err('canceling statement due to lock timeout', { code: '55P03' }), 'target-busy'],
    ['a value too long', err('value too long for type character varying(250)', { code: '22001' }), 'data'],
    ['a unique violation', err('duplicate key value', { code: '23505' }), 'data'],
    ['a missing table', err('relation "mam_message" does not exist', { code: '42P01' }), 'target-unavailable'],
  ])('%s', (_name, raw, expected) => {
    const classified = classifyError(raw, 'query failed');
    expect(outcome(classified)).toBe(expected);
    if (classified instanceof TargetError) expect(classified.retryable).toBe(true);
  });
});

describe('MySQL / MariaDB errors', () => {
  it.each([
    ['a lost connection (mysql2 marks it fatal)', err('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'target-connection-lost'],
    ['a reset socket', err('read ECONNRESET', { code: 'ECONNRESET', errno: -104, fatal: true }), 'target-connection-lost'],
    ['a statement on a closed connection', err("Can't add new command when connection is in closed state"), 'target-connection-lost'],
    ['server shutdown in progress', err('Server shutdown in progress', { errno: 1053, sqlState: '08S01' }), 'target-connection-lost'],
    ['a killed connection', err('Connection was killed', { errno: 1927, sqlState: '70100' }), 'target-connection-lost'],
    ['a deadlock', err('Deadlock found when trying to get lock', { errno: 1213, sqlState: '40001' }), 'target-busy'],
    ['a lock wait timeout', err('Lock wait timeout exceeded', { errno: 1205, sqlState: 'HY000' }), 'target-busy'],
    ['a duplicate entry', err('Duplicate entry', { errno: 1062, sqlState: '23000' }), 'data'],
    ['an incorrect string value', err('Incorrect string value', { errno: 1366, sqlState: 'HY000' }), 'data'],
    ['a syntax error', err('You have an error in your SQL syntax', { errno: 1064, sqlState: '42000' }), 'target-unavailable'],
  ])('%s', (_name, raw, expected) => {
    expect(outcome(classifyMysqlError(raw, 'query failed'))).toBe(expected);
  });
});

it('a run lock lost to another run is never retried', () => {
  const lost = runLockLost('postgres://mim:***@db/mim');
  expect(lost.code).toBe('run-lock-lost');
  expect(lost.retryable).toBe(false);
  expect(lost.message).toMatch(/another xmpp-migrate run took the run lock/);
});
