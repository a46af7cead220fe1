import { ConnectionAccessRecorder } from '../../../src/app/connections/access-recorder';
import { KeyledgerError } from '../../../src/domain/errors';
import { EventStoreUnavailableError, type NewEvent } from '../../../src/eventstore/port';

const metadata = { actor: { type: 'token' as const, id: 'tok_1', tenantId: 'acme' }, requestId: 'r1', occurredAt: '2030-01-01T00:00:00.000Z' };
const use = (tenantId: string, host = 'api.example.com') => ({
  connectionId: 'con_1',
  tenantId,
  integration: 'crm',
  name: 'stripe',
  host,
  usedAt: '2030-01-01T00:00:00.000Z',
});
const logger = { warn: jest.fn(), error: jest.fn() };

describe('ConnectionAccessRecorder', () => {
  it('queues uses without I/O and appends them per tenant stream in one batch each', async () => {
    const appends: Array<{ stream: string; events: readonly NewEvent[] }> = [];
    const recorder = new ConnectionAccessRecorder({ append: async (stream, events) => (appends.push({ stream, events }), { nextExpectedRevision: 0, position: 1n }) }, logger);
    recorder.record(use('acme', 'a.example.com'), metadata);
    recorder.record(use('globex'), metadata);
    recorder.record(use('acme', 'b.example.com'), metadata);
    expect(appends).toEqual([]);
    await recorder.flush();
    expect(appends.map((append) => [append.stream, append.events.map((event) => event.data.host)])).toEqual([
      ['access-acme', ['a.example.com', 'b.example.com']],
      ['access-globex', ['api.example.com']],
    ]);
    expect(appends[0].events[0]).toMatchObject({ type: 'ConnectionUsed', metadata });
    expect(recorder.pending).toBe(0);
  });

  it('keeps records while the store is unreachable, in order, and refuses uses once the backlog is full', async () => {
    let down = true;
    const appended: string[] = [];
    const recorder = new ConnectionAccessRecorder(
      {
        append: async (_stream, events) => {
          if (down) throw new EventStoreUnavailableError('down');
          appended.push(...events.map((event) => String((event.data as { host: string }).host)));
          return { nextExpectedRevision: 0, position: 1n };
        },
      },
      logger,
      { maxPending: 3 },
    );
    recorder.record(use('acme', 'one'), metadata);
    await recorder.flush();
    recorder.record(use('acme', 'two'), metadata);
    recorder.record(use('acme', 'three'), metadata);
    expect(() => recorder.record(use('acme', 'four'), metadata)).toThrow(KeyledgerError);
    down = false;
    await recorder.stop();
    expect(appended).toEqual(['one', 'two', 'three']);
  });

  it('gives up on a batch the store keeps refusing for another reason, and says so', async () => {
    const errors = { warn: jest.fn(), error: jest.fn() };
    const recorder = new ConnectionAccessRecorder({ append: async () => Promise.reject(new Error('duplicate')) }, errors, { maxAttempts: 2 });
    recorder.record(use('acme'), metadata);
    await recorder.flush();
    expect(recorder.pending).toBe(1);
    await recorder.flush();
    expect(recorder.pending).toBe(0);
    expect(errors.error).toHaveBeenCalledWith(expect.objectContaining({ dropped: 1 }), 'gave up recording connection uses');
  });
});
