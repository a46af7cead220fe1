import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { NewEvent } from '../../src/eventstore/port';
import { SUBSCRIPTION_LIMITS } from '../../src/graphql/subscriptions';
import { graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { metricValue, SubscriberClient, TOKEN_REVOKED, waitForSubscriptions, wsUrl, type SubscriptionRecord } from '../helpers/subscriptions';

/** Many subscribers, and one that stops reading, on one gateway process. */
describe('Subscription.tokenRevoked under load', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'load admin', tenantId: 'load', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => gw?.stop());

  it('delivers one revocation to 1,000 concurrent subscriptions (20 connections × 50)', async () => {
    const { secret: reader } = await issueToken(gw.url, admin, { name: 'many readers', roles: ['keyledger:tokens:read'] });
    const connections = Array.from({ length: 20 }, () => new SubscriberClient(gw.url, reader));
    try {
      await Promise.all(connections.map((connection) => connection.connected(15_000)));
      const records: Array<{ connection: SubscriberClient; record: SubscriptionRecord }> = [];
      for (const connection of connections) {
        for (let i = 0; i < 50; i++) records.push({ connection, record: connection.subscribe() });
      }
      await waitForSubscriptions(gw.url, 1000, 30_000);

      const { id } = await issueToken(gw.url, admin, { name: 'revoked for everyone' });
      const response = await graphql(gw.url, REVOKE_TOKEN, { input: { id, reason: 'fan-out' } }, admin);
      expect(response.errors).toBeUndefined();

      await Promise.all(records.map(({ connection, record }) => connection.until(() => record.notices.length >= 1, 30_000)));
      expect(records).toHaveLength(1000);
      for (const { record } of records) {
        expect(record.notices).toHaveLength(1);
        expect(record.notices[0]).toMatchObject({ tokenId: id, reason: 'fan-out', kind: 'REVOKED' });
        expect(record.errors).toEqual([]);
      }
    } finally {
      await Promise.all(connections.map((connection) => connection.dispose()));
    }
  }, 60_000);

  it('bounds the queue of a subscriber that stops reading, closes it with 4008, and keeps serving others', async () => {
    const limit = SUBSCRIPTION_LIMITS.queueLength;
    expect(await metricValue(gw.url, 'keyledger_subscription_queue_limit')).toBe(limit);
    const closesBefore = (await metricValue(gw.url, 'keyledger_subscription_slow_consumer_closes_total')) ?? 0;

    // A raw client, so that it can stop reading its socket while the server keeps writing.
    const stalled = new WebSocket(wsUrl(gw.url), 'graphql-transport-ws');
    await new Promise((resolve, reject) => stalled.once('open', resolve).once('error', reject));
    const acknowledged = new Promise((resolve) => stalled.once('message', resolve));
    stalled.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ROOT_SECRET}` } }));
    await acknowledged;
    const stalledClose = new Promise<{ code: number; reason: string }>((resolve) =>
      stalled.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    stalled.send(JSON.stringify({ id: 'flood', type: 'subscribe', payload: { query: TOKEN_REVOKED, variables: { tenantId: 'flood' } } }));
    await waitForSubscriptions(gw.url, 1);
    stalled.pause();

    /*
     * Kernel and Node socket buffers take megabytes before the server's own queue grows at all,
     * which takes thousands of notices; through HTTP that would take minutes, so revocations
     * are appended straight to the log, as any replica's command handler would append them.
     */
    const reason = 'r'.repeat(500);
    let appended = 0;
    let closes = closesBefore;
    while (closes === closesBefore && appended < 100_000) {
      for (let i = 0; i < 500; i++, appended++) {
        const tokenId = `tok_flood${appended}`;
        const now = new Date().toISOString();
        const event: NewEvent = {
          id: randomUUID(),
          type: 'TokenRevoked',
          data: { tokenId, tenantId: 'flood', reason, revokedAt: now },
          metadata: { actor: { type: 'system', id: 'load-test', tenantId: null }, requestId: `flood-${appended}`, occurredAt: now },
        };
        await gw.gateway.store.append(`token-${tokenId}`, [event], 'no_stream');
      }
      const head = await gw.gateway.store.headPosition();
      await gw.gateway.runner.waitForPosition(head!, 30_000);
      expect(await metricValue(gw.url, 'keyledger_subscription_queue_length')).toBeLessThanOrEqual(limit);
      expect(await metricValue(gw.url, 'keyledger_subscription_queue_peak_length')).toBeLessThanOrEqual(limit);
      closes = (await metricValue(gw.url, 'keyledger_subscription_slow_consumer_closes_total')) ?? 0;
    }
    expect(closes).toBe(closesBefore + 1);
    expect(await metricValue(gw.url, 'keyledger_subscription_queue_peak_length')).toBeLessThanOrEqual(limit);
    expect(await metricValue(gw.url, 'keyledger_subscriptions')).toBe(0);

    // Still serving: queries over HTTP, and a new subscriber gets its notice.
    const viewer = await graphql(gw.url, '{ viewer { id } }', {}, admin);
    expect(viewer.errors).toBeUndefined();
    const healthy = new SubscriberClient(gw.url, admin);
    try {
      await healthy.connected();
      const record = healthy.subscribe();
      await waitForSubscriptions(gw.url, 1);
      const { id } = await issueToken(gw.url, admin, { name: 'after the flood' });
      await graphql(gw.url, REVOKE_TOKEN, { input: { id } }, admin);
      await healthy.until(() => record.notices.length === 1, 10_000);
      expect(record.notices[0].tokenId).toBe(id);
    } finally {
      await healthy.dispose();
    }

    // Once it reads again, the stalled client drains what the kernel held and learns why it was dropped.
    stalled.resume();
    expect(await stalledClose).toEqual({ code: 4008, reason: `Slow consumer: more than ${limit} notices pending; reconnect with afterPosition` });
  }, 120_000);
});
