import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import { buildSchema, type ContainerType } from 'type-graphql';
import type { AuditService } from '../app/audit/audit-service';
import type { Clock } from '../app/clock';
import type { ConnectionService } from '../app/connections/connection-service';
import type { ExpensiveQueryLimiter, MutationLimiter } from '../app/rate-limits';
import type { CredentialVerifier } from '../app/credentials/credential-verifier';
import type { TokenService } from '../app/tokens/token-service';
import type { IdempotentMutations } from './idempotency';
import { limitExpensiveQueries, limitMutations } from './mutation-limit';
import { AuditResolver } from './resolvers/audit-resolver';
import { ConnectionResolver } from './resolvers/connection-resolver';
import { PartnerResolver, type PartnerResolverServices } from './resolvers/partner-resolver';
import { NO_TOPICS, RevocationResolver } from './resolvers/revocation-resolver';
import { TokenResolver } from './resolvers/token-resolver';
import { TokenUsageResolver, type TokenUsageServices } from './resolvers/token-usage-resolver';
import { ViewerResolver } from './resolvers/viewer-resolver';

export interface GraphQLServices {
  tokens: TokenService;
  /** `verifyToken`. */
  credentials: Pick<CredentialVerifier, 'verifyToken'>;
  clock: Clock;
  partners: PartnerResolverServices;
  connections: ConnectionService;
  audit: AuditService;
  /** Charged for every mutation field. */
  mutations: MutationLimiter;
  expensiveQueries: ExpensiveQueryLimiter;
  idempotency: IdempotentMutations;
  /** Credits and rate limits of tokens. */
  tokenUsage: TokenUsageServices;
}

export const RESOLVERS = [
  TokenResolver,
  TokenUsageResolver,
  ViewerResolver,
  RevocationResolver,
  PartnerResolver,
  ConnectionResolver,
  AuditResolver,
] as const;

/** Resolvers receive their services through the constructor; this builds them once. */
function containerFor(services: GraphQLServices): ContainerType {
  const instances = new Map<Function, unknown>([
    [TokenResolver, new TokenResolver(services.tokens, services.credentials, services.clock, services.idempotency)],
    [TokenUsageResolver, new TokenUsageResolver(services.tokenUsage)],
    [ViewerResolver, new ViewerResolver()],
    [RevocationResolver, new RevocationResolver()],
    [PartnerResolver, new PartnerResolver(services.partners, services.idempotency)],
    [ConnectionResolver, new ConnectionResolver(services.connections, services.idempotency)],
    [AuditResolver, new AuditResolver(services.audit, services.idempotency)],
  ]);
  return {
    get(someClass) {
      const instance = instances.get(someClass);
      if (!instance) throw new Error(`No resolver instance for ${someClass.name}`);
      return instance;
    },
  };
}

export async function buildGatewaySchema(services: GraphQLServices | null): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    container: services ? containerFor(services) : undefined,
    scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
    pubSub: NO_TOPICS,
    // Input rules live in the domain, next to the events they protect.
    validate: false,
  });
  if (services) {
    limitMutations(schema, services.mutations);
    limitExpensiveQueries(schema, services.expensiveQueries);
  }
  return schema;
}
