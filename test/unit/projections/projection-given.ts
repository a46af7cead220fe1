import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openReadModelDatabase, type ReadModelDatabase } from '../../../projections/database';
import type { Projection } from '../../../projections/projection';
import type { EventMetadata, RecordedEvent } from '../../../src/eventstore/port';
import { makeTempDir } from '../../helpers/temp-dir';

/** An event as a test writes it: its type and data, and the stream when the projection reads it. */
export interface GivenEvent {
  /** The same id twice is one event seen twice (a replay); a new one is made when not given. */
  id?: string;
  type: string;
  data: object;
  streamId?: string;
  metadata?: Partial<EventMetadata>;
}

const METADATA: EventMetadata = { actor: { type: 'token', id: 'tok_admin', tenantId: 'acme' }, requestId: 'req-1', occurredAt: '2030-01-15T10:00:00.000Z' };

/**
 * A projection under test: its real code applies the given events to its real tables in a
 * SQLite database in a temp directory, one batch in one transaction as the runner does, and
 * the test reads the rows that result.
 */
export class ProjectionScenario {
  private constructor(
    private readonly db: ReadModelDatabase,
    private readonly remove: () => void,
  ) {}

  static of(projection: Projection, events: readonly GivenEvent[]): ProjectionScenario {
    const dir = makeTempDir('keyledger-projection');
    const db = openReadModelDatabase(join(dir.path, 'readmodels.db'));
    projection.migrate(db);
    const handler = projection.handler(db);
    const revisions = new Map<string, number>();
    db.transaction(() => {
      events.forEach((event, index) => {
        const streamId = event.streamId ?? 'test-stream';
        const revision = revisions.get(streamId) ?? 0;
        revisions.set(streamId, revision + 1);
        const recorded: RecordedEvent = {
          id: event.id ?? randomUUID(),
          type: event.type,
          streamId,
          revision,
          position: BigInt(index + 1),
          data: event.data as Record<string, unknown>,
          metadata: { ...METADATA, ...event.metadata } as EventMetadata,
          recordedAt: new Date(METADATA.occurredAt),
        };
        if (projection.eventTypes.includes(recorded.type)) handler.apply(recorded);
      });
      handler.endBatch?.();
    })();
    return new ProjectionScenario(db, dir.remove);
  }

  /** The rows of `table`, only `columns` of each, in the order given by `orderBy`. */
  rows(table: string, columns: readonly string[], orderBy = columns[0]): Record<string, unknown>[] {
    try {
      return this.db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${orderBy}`).all() as Record<string, unknown>[];
    } finally {
      this.close();
    }
  }

  /** Runs `read` against the database, then closes it. */
  read<T>(read: (db: ReadModelDatabase) => T): T {
    try {
      return read(this.db);
    } finally {
      this.close();
    }
  }

  private close(): void {
    if (this.db.open) this.db.close();
    this.remove();
  }
}

/** given(projection, events).then(table, columns, rows): the projection's rows after the events. */
export function given(projection: Projection, events: readonly GivenEvent[]) {
  return {
    then(table: string, columns: readonly string[], expected: readonly Record<string, unknown>[], orderBy?: string): void {
      expect(ProjectionScenario.of(projection, events).rows(table, columns, orderBy)).toEqual(expected);
    },
    read<T>(read: (db: ReadModelDatabase) => T): T {
      return ProjectionScenario.of(projection, events).read(read);
    },
  };
}
