// One target connection that survives being lost (a restarted server, a cut network), the same for every
// server driver: the next statement outside a transaction opens a new connection, takes the run lock again
// and rebuilds the session state (onReconnect); a connection lost inside a transaction fails it whole, and the
// runner runs it again. Each driver (pg, mysql2) supplies only what differs: how to connect, end, identify a
// session and take its lock.
import { TargetError, errorMessage } from '../errors.js';
import { runLockLost } from './sql-database.js';

export interface ConnectionDriver<C> {
  /** Safe to print. */
  readonly displayName: string;
  /** Opens a connection; `lost` must be called when the driver reports it dropped (error or end events). */
  connect(lost: () => void): Promise<C>;
  /** Lets go of a lost connection without waiting: ending one the network dropped silently can hang. */
  abandon(connection: C): void;
  end(connection: C): Promise<void>;
  /** The server's id of the connection's session (backend pid, thread id), to end it when it outlives us. */
  sessionId(connection: C): number | undefined;
  /**
   * Takes the run lock on a new connection within a few seconds; ends the lost session `lostSession` when the
   * server still holds the lock for it. False: another run holds it.
   */
  retakeLock(fresh: C, lockName: string, lostSession: number | undefined): Promise<boolean>;
  /** Releases the run lock before a clean close (the server would only after the client has gone). */
  releaseLock(connection: C, lockName: string): Promise<unknown>;
  isConnectionLoss(err: unknown): boolean;
  classify(err: unknown, context: string): Error;
}

export class ReconnectingConnection<C> {
  private current: C;
  private broken = false;
  private inTransaction = false;
  private lockName: string | undefined;
  private lockLost = false;
  private reconnecting: Promise<void> | undefined;
  private readonly restores: Array<() => Promise<void>> = [];

  private constructor(private readonly driver: ConnectionDriver<C>, first: C) {
    this.current = first;
  }

  static async open<C>(driver: ConnectionDriver<C>): Promise<ReconnectingConnection<C>> {
    let self: ReconnectingConnection<C> | undefined;
    let first: C | undefined;
    try {
      first = await driver.connect(() => self?.lost(first!));
    } catch (err) {
      throw new TargetError('target-unavailable', `cannot connect to ${driver.displayName}: ${errorMessage(err)}. Check the host, port, user and that the database exists.`, { cause: err });
    }
    self = new ReconnectingConnection(driver, first);
    return self;
  }

  /** The connection now (for a rollback or a release that must not reconnect). */
  get connection(): C {
    return this.current;
  }

  /** Before each statement: a lost connection is replaced, except inside a transaction (which then fails whole). */
  async ready(): Promise<C> {
    if (this.lockLost) throw runLockLost(this.driver.displayName);
    if (this.broken) {
      if (this.inTransaction) {
        throw new TargetError('target-connection-lost', `the connection to ${this.driver.displayName} was lost inside a transaction; it was rolled back and is run again`);
      }
      this.reconnecting ??= this.reconnect().finally(() => {
        this.reconnecting = undefined;
      });
      await this.reconnecting;
    }
    return this.current;
  }

  /** The error to throw for a statement that failed on `used`; a lost connection is marked for replacement. */
  failed(used: C, err: unknown, context: string): Error {
    if (used === this.current && this.driver.isConnectionLoss(err)) this.broken = true;
    return this.driver.classify(err, context);
  }

  /** Runs `fn` between `begin` and `commit`; on failure rolls back on the connection as it is. */
  async transaction<T>(begin: () => Promise<unknown>, fn: () => Promise<T>, commit: () => Promise<unknown>, rollback: (connection: C) => Promise<unknown>): Promise<T> {
    await begin();
    this.inTransaction = true;
    try {
      const result = await fn();
      await commit();
      return result;
    } catch (err) {
      await rollback(this.current).catch(() => undefined);
      throw err;
    } finally {
      this.inTransaction = false;
    }
  }

  /** The run lock this connection holds: taken again after a reconnect, released on close. */
  holdsLock(name: string): void {
    this.lockName = name;
  }

  onReconnect(restore: () => Promise<void>): void {
    this.restores.push(restore);
  }

  async close(): Promise<void> {
    const held = this.lockName;
    this.lockName = undefined;
    if (held !== undefined) await this.driver.releaseLock(this.current, held).catch(() => undefined);
    await this.driver.end(this.current).catch(() => undefined);
  }

  private lost(connection: C): void {
    if (this.current === connection) this.broken = true;
  }

  private async reconnect(): Promise<void> {
    const { driver } = this;
    const lost = this.current;
    const lostSession = driver.sessionId(lost);
    driver.abandon(lost);
    let fresh: C;
    try {
      fresh = await driver.connect(() => this.lost(fresh));
    } catch (err) {
      throw new TargetError('target-connection-lost', `the connection to ${driver.displayName} was lost and a new one failed: ${errorMessage(err)}`, { cause: err });
    }
    try {
      if (this.lockName !== undefined && !(await driver.retakeLock(fresh, this.lockName, lostSession))) {
        this.lockLost = true;
        throw runLockLost(driver.displayName);
      }
    } catch (err) {
      await driver.end(fresh).catch(() => undefined);
      if (err instanceof TargetError) throw err;
      throw driver.classify(err, `reconnecting to ${driver.displayName}`);
    }
    this.current = fresh;
    this.broken = false;
    try {
      for (const restore of this.restores) await restore();
    } catch (err) {
      this.broken = true;
      throw err;
    }
  }
}
