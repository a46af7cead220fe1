import { Counter, Gauge, type Registry } from 'prom-client';
import type { RevocationFeed } from '../../app/revocations';
import type { SubscriptionServer } from './subscription-server';

/** Gauges of the WebSocket transport, read when Prometheus scrapes. */
export function registerSubscriptionMetrics(registry: Registry, feed: RevocationFeed, server: SubscriptionServer): void {
  new Gauge({
    name: 'keyledger_websocket_connections',
    help: 'Authenticated GraphQL WebSocket connections',
    registers: [registry],
    collect() {
      this.set(server.stats().connections);
    },
  });
  new Gauge({
    name: 'keyledger_subscriptions',
    help: 'Open revocation-notice subscriptions',
    registers: [registry],
    collect() {
      this.set(feed.stats().subscriptions);
    },
  });
  new Gauge({
    name: 'keyledger_subscription_queue_length',
    help: 'Notices pending for the subscription furthest behind',
    registers: [registry],
    collect() {
      this.set(feed.stats().longestQueue);
    },
  });
  new Gauge({
    name: 'keyledger_subscription_queue_peak_length',
    help: 'Most notices pending for one subscription at any time since start; never above the limit',
    registers: [registry],
    collect() {
      this.set(feed.stats().peakQueue);
    },
  });
  new Gauge({
    name: 'keyledger_subscription_queue_limit',
    help: 'Notices a subscription may have pending before its connection is closed as a slow consumer (4008)',
    registers: [registry],
  }).set(feed.queueLimit);
  let counted = 0;
  new Counter({
    name: 'keyledger_subscription_slow_consumer_closes_total',
    help: 'WebSocket connections closed because a subscription fell too far behind (4008)',
    registers: [registry],
    collect() {
      const closes = server.stats().slowConsumerCloses;
      this.inc(closes - counted);
      counted = closes;
    },
  });
}
