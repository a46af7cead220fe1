import { join } from 'node:path';
import { CreditLedger } from '../../../src/app/tokens/credit-ledger';
import { EventWriter } from '../../../src/app/event-writer';
import { SqliteEventStore } from '../../../src/eventstore/sqlite';
import type { TokenControls } from '../../../projections/tokens';
import { createLogger } from '../../../src/logger';
import { TestClock } from '../../helpers/test-clock';
import { makeTempDir } from '../../helpers/temp-dir';

const token = { id: 'tok_ledger', tenantId: 'acme' };
const metadata = { actor: { type: 'token' as const, id: 'tok_verifier', tenantId: 'acme' }, requestId: 'r1', occurredAt: '2026-12-02T00:00:00.000Z' };
/** Two credits set on 2 December, refilled to two at each UTC midnight. */
const controls: TokenControls = {
  credits: { remaining: 2, refill: { amount: 2, interval: 'DAILY' } },
  creditsGrant: 0,
  creditsSetAt: new Date('2026-12-02T12:00:00Z'),
  rateLimits: [],
};

/** Two "processes" on one events.db, each with its own ledger and clock. */
function twoLedgers(first: TestClock, second: TestClock) {
  const temp = makeTempDir('credit-ledger');
  const path = join(temp.path, 'events.db');
  const stores = [SqliteEventStore.open(path), SqliteEventStore.open(path)];
  const logger = createLogger({ level: 'silent' });
  const progress = { waitForPosition: async () => true };
  const ledgers = [first, second].map((clock, i) => new CreditLedger(new EventWriter(stores[i], progress, 1000, logger), { of: () => controls }, clock));
  return {
    ledgers,
    close: async () => {
      for (const store of stores) await store.close();
      temp.remove();
    },
  };
}

describe('CreditLedger', () => {
  it('a process whose clock lags behind the boundary spends from the period another process already started, not the one before', async () => {
    const behind = new TestClock(Date.parse('2026-12-02T23:59:59Z'));
    const ahead = new TestClock(Date.parse('2026-12-03T00:00:01Z'));
    const { ledgers, close } = twoLedgers(behind, ahead);
    try {
      // The lagging clock spends the 2 December credits; the other spends the 3 December refill.
      expect(await ledgers[0].spend(token, controls, 2, metadata)).toMatchObject({ spent: true, remaining: 0 });
      expect(await ledgers[1].spend(token, controls, 2, metadata)).toMatchObject({ spent: true, remaining: 0 });
      // Still on 2 December by its clock, the first must not be granted the 2 December balance again.
      expect(await ledgers[0].spend(token, controls, 1, metadata)).toMatchObject({ spent: false, remaining: 0 });
      expect(await ledgers[0].balance(token.id, controls)).toMatchObject({ remaining: 0 });
    } finally {
      await close();
    }
  });

  it('a balance set again starts afresh, and spends of the earlier setting no longer count', async () => {
    const clock = new TestClock(Date.parse('2026-12-02T13:00:00Z'));
    const { ledgers, close } = twoLedgers(clock, clock);
    try {
      expect(await ledgers[0].spend(token, controls, 2, metadata)).toMatchObject({ spent: true, remaining: 0 });
      const setAgain: TokenControls = { ...controls, credits: { remaining: 5 }, creditsGrant: 3 };
      expect(await ledgers[1].spend(token, setAgain, 1, metadata)).toMatchObject({ spent: true, remaining: 4 });
      expect(await ledgers[0].balance(token.id, setAgain)).toMatchObject({ remaining: 4, refillsAt: null });
    } finally {
      await close();
    }
  });
});
