import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

/** The shared rate-limit store, as far as metrics need it. */
export interface RateLimitStoreState {
  readonly isReachable: boolean;
}

export interface ProjectionProgress {
  readonly isCaughtUp: boolean;
  readonly appliedPosition: bigint | null;
  lagSeconds(): number;
}

/** Prometheus metrics of one gateway; a registry per gateway so several can share a process in tests. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'outcome'>;
  readonly duration: OperationDurations;
  /**
   * Operations answered since `requests` was last collected, by label: a request adds one to
   * a number here, and the counter takes the sums when it is read, instead of every request
   * paying for prom-client's label hashing and validation.
   */
  private readonly uncounted = new Map<string, { ok: number; error: number }>();
  private uncountedPrepared = 0;

  constructor(projections: ProjectionProgress, rateLimitStore: RateLimitStoreState | null = null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyledger_' });
    const uncounted = this.uncounted;
    this.requests = new Counter({
      name: 'keyledger_graphql_requests_total',
      help: 'GraphQL operations by name and outcome (ok, error)',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
      collect() {
        for (const [operation, counts] of uncounted) {
          if (counts.ok > 0) this.inc({ operation, outcome: 'ok' }, counts.ok);
          if (counts.error > 0) this.inc({ operation, outcome: 'error' }, counts.error);
        }
        uncounted.clear();
      },
    });
    const metrics = this;
    new Counter({
      name: 'keyledger_graphql_prepared_requests_total',
      help: 'GraphQL queries and mutations answered from a document accepted earlier, without the full Apollo request pipeline (also in keyledger_graphql_requests_total)',
      registers: [this.registry],
      collect() {
        this.inc(metrics.uncountedPrepared);
        metrics.uncountedPrepared = 0;
      },
    });
    this.duration = new OperationDurations();
    this.registry.registerMetric(this.duration as unknown as Metric);
    new Gauge({
      name: 'keyledger_projection_lag_seconds',
      help: 'Seconds since the projections were last caught up with the event log (0 while caught up)',
      registers: [this.registry],
      collect() {
        const lag = projections.lagSeconds();
        this.set(Number.isFinite(lag) ? lag : -1);
      },
    });
    new Gauge({
      name: 'keyledger_projection_caught_up',
      help: '1 when the projections are caught up with the event log and live',
      registers: [this.registry],
      collect() {
        this.set(projections.isCaughtUp ? 1 : 0);
      },
    });
    new Gauge({
      name: 'keyledger_projection_position',
      help: 'Highest event log position applied to the read models',
      registers: [this.registry],
      collect() {
        const position = projections.appliedPosition;
        this.set(position === null ? -1 : Number(position));
      },
    });
    if (rateLimitStore) {
      new Gauge({
        name: 'keyledger_rate_limit_store_up',
        help: '1 while the shared rate-limit store (Redis) is reachable; 0 while each replica limits on its own',
        registers: [this.registry],
        collect() {
          this.set(rateLimitStore.isReachable ? 1 : 0);
        },
      });
    }
  }

  /** Counts and times every GraphQL operation, labelled by its name (bounded: anonymous ones share a label). */
  apolloPlugin(): ApolloServerPlugin {
    const metrics = this;
    return {
      async requestDidStart() {
        const started = process.hrtime.bigint();
        return {
          async willSendResponse(requestContext) {
            metrics.recordOperation(requestContext.operation, Boolean(requestContext.errors?.length), started);
          },
        };
      },
    };
  }

  /**
   * One answered operation, begun at `started` (`process.hrtime.bigint()`), which answered
   * errors or not; `prepared` when it was a prepared operation, executed without Apollo's pipeline.
   */
  recordOperation(operation: OperationDefinitionNode | undefined, failed: boolean, started: bigint, prepared = false): void {
    if (prepared) this.uncountedPrepared += 1;
    const label = operationLabel(operation);
    let counts = this.uncounted.get(label);
    if (!counts) this.uncounted.set(label, (counts = { ok: 0, error: 0 }));
    if (failed) counts.error += 1;
    else counts.ok += 1;
    this.duration.observe(label, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/**
 * Labels come from the root fields the operation selects (schema names, so bounded), not
 * from client-chosen operation names, which would let any caller grow the label set.
 */
function operationLabel(operation: OperationDefinitionNode | undefined): string {
  if (!operation) return 'unparsed';
  // Apollo hands every request with the same text the same parsed operation.
  let label = labels.get(operation);
  if (label === undefined) labels.set(operation, (label = labelOf(operation)));
  return label;
}

const labels = new WeakMap<OperationDefinitionNode, string>();

function labelOf(operation: OperationDefinitionNode): string {
  const fields = operation.selectionSet.selections
    .filter((selection) => selection.kind === Kind.FIELD)
    .map((selection) => selection.name.value)
    .sort();
  const unique = [...new Set(fields)];
  return `${operation.operation}:${unique.length === 0 ? '_' : unique.length > 3 ? `${unique.slice(0, 3).join(',')},…` : unique.join(',')}`;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * `keyledger_graphql_request_duration_seconds`, a Prometheus histogram by operation, kept as
 * plain counts. prom-client's Histogram validates and hashes the label set on every
 * observation, several times the cost of counting; a registry reads any metric through
 * `get()`, so this one hands over its counts in the histogram's exposition form instead.
 */
export class OperationDurations {
  readonly name = 'keyledger_graphql_request_duration_seconds';
  readonly help = 'GraphQL operation latency by operation name';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly byOperation = new Map<string, { buckets: number[]; sum: number; count: number }>();

  observe(operation: string, seconds: number): void {
    let entry = this.byOperation.get(operation);
    if (!entry) this.byOperation.set(operation, (entry = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const bucket = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) entry.buckets[bucket] += 1;
    entry.sum += seconds;
    entry.count += 1;
  }

  async get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const [operation, { buckets, sum, count }] of this.byOperation) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, index) => {
        cumulative += buckets[index];
        values.push({ labels: { le: bound, operation }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', operation }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels: { operation }, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels: { operation }, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.byOperation.clear();
  }
}
