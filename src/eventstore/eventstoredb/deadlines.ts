import type { StreamingRead } from '@eventstore/db-client';
import { EventStoreUnavailableError } from '../port';

/**
 * The client puts a gRPC deadline on the append itself but not on the capability lookup that
 * precedes it on a fresh connection, so the whole call gets a bound of its own.
 */
export function withinDeadline<T>(operation: string, pending: Promise<T>, deadlineMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new EventStoreUnavailableError(`EventStoreDB did not answer ${operation} within ${deadlineMs} ms; the outcome is unknown`));
    }, deadlineMs);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Reads have no gRPC deadline in the client (they may legitimately be long), so a read fails
 * when the server goes quiet for a whole deadline instead.
 */
export function collect<T>(operation: string, read: StreamingRead<T>, deadlineMs: number): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const received: T[] = [];
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(timer);
      read.removeAllListeners('data');
      // Whatever the abandoned read reports after this must not go unhandled.
      read.on('error', () => {});
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        settle();
        read.cancel().catch(() => {});
        reject(new EventStoreUnavailableError(`EventStoreDB did not answer ${operation} within ${deadlineMs} ms`));
      }, deadlineMs);
    };
    read.on('data', (item: T) => {
      received.push(item);
      arm();
    });
    read.once('end', () => {
      settle();
      resolve(received);
    });
    read.once('error', (error: Error) => {
      settle();
      reject(error);
    });
    arm();
  });
}
