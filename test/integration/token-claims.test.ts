import { randomUUID } from 'node:crypto';
import { tokenStreamId } from '../../src/domain/tokens';
import { tokenCodeStreamId, UNCONFIRMED_CLAIM_GRACE_MS } from '../../src/domain/token-claims';
import { WrongExpectedRevisionError, type EventMetadata } from '../../src/eventstore/port';
import { errorCode, graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { TestClock } from '../helpers/test-clock';
import { ISSUE } from '../e2e/suites/token-operations';

const metadata: EventMetadata = { actor: { type: 'system', id: 'test', tenantId: null }, requestId: 'claims-test', occurredAt: new Date().toISOString() };

/** A claim whose token never appeared: what a crashed issuer leaves behind, and how it is reclaimed. */
describe('an unfinished claim', () => {
  let gw: TestGateway;
  const clock = new TestClock();
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock });
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => gw.stop());

  async function crashedIssue(code: string, ghost: string): Promise<void> {
    await gw.gateway.store.append(
      tokenCodeStreamId('acme', code),
      [{ id: randomUUID(), type: 'TokenCodeReserved', data: { tenantId: 'acme', code, tokenId: ghost, reservedAt: clock.now().toISOString() }, metadata }],
      'no_stream',
    );
  }

  it('holds its code while it may still be in flight, then is abandoned and the code reclaimed', async () => {
    const ghost = 'tok_ghostghostghostghost01';
    await crashedIssue('orphaned', ghost);
    const early = await graphql(gw.url, ISSUE, { input: { name: 'too early', code: 'orphaned' } }, admin);
    expect(errorCode(early)).toBe('CONFLICT');

    clock.advance(UNCONFIRMED_CLAIM_GRACE_MS);
    const reclaimed = await graphql(gw.url, ISSUE, { input: { name: 'reclaimer', code: 'orphaned' } }, admin);
    expect(reclaimed.errors).toBeUndefined();

    const ghostStream = await gw.gateway.store.readStream(tokenStreamId(ghost));
    expect(ghostStream.map((event) => event.type)).toEqual(['TokenIssueAbandoned']);
    const claim = await gw.gateway.store.readStream(tokenCodeStreamId('acme', 'orphaned'));
    expect(claim.map((event) => [event.type, event.data.tokenId])).toEqual([
      ['TokenCodeReserved', ghost],
      ['TokenCodeReleased', ghost],
      ['TokenCodeReserved', reclaimed.data!.issueToken.token.id],
    ]);
  });

  it('the late issue of an abandoned token can no longer happen, so a code never has two live tokens', async () => {
    const ghost = 'tok_ghostghostghostghost02';
    await crashedIssue('late', ghost);
    clock.advance(UNCONFIRMED_CLAIM_GRACE_MS);
    expect((await graphql(gw.url, ISSUE, { input: { name: 'reclaimer', code: 'late' } }, admin)).errors).toBeUndefined();
    await expect(
      gw.gateway.store.append(tokenStreamId(ghost), [{ id: randomUUID(), type: 'TokenIssued', data: { tokenId: ghost }, metadata }], 'no_stream'),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
  });

  it('a claim whose token was issued after all is not abandoned', async () => {
    const { id } = await issueToken(gw.url, admin, { name: 'real holder', code: 'real' });
    clock.advance(UNCONFIRMED_CLAIM_GRACE_MS * 2);
    expect(errorCode(await graphql(gw.url, ISSUE, { input: { name: 'challenger', code: 'real' } }, admin))).toBe('CONFLICT');
    expect((await gw.gateway.store.readStream(tokenStreamId(id))).map((event) => event.type)).toEqual(['TokenIssued']);
  });
});
