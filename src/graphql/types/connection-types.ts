import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PageInfo } from './token-types';

/** What every read shows instead of the key. */
export const REDACTED_API_KEY = '*****';

@ObjectType({ description: 'A third-party API key kept encrypted for an integration. The key itself is never shown: apiKey reads as *****.' })
export class ApiKeyConnection {
  @Field(() => String, { description: 'Unique within the tenant and integration' })
  name!: string;

  @Field(() => String)
  integration!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => String, { description: 'The HTTP header the key is sent in' })
  headerName!: string;

  @Field(() => String, { description: 'Always *****' })
  apiKey!: string;

  @Field(() => String, { description: 'The host the key may be sent to, or *.domain for its subdomains' })
  allowedDomain!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class ApiKeyConnectionEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => ApiKeyConnection)
  node!: ApiKeyConnection;
}

@ObjectType({ description: 'A page of API-key connections, newest first' })
export class ApiKeyConnectionConnection {
  @Field(() => [ApiKeyConnectionEdge])
  edges!: ApiKeyConnectionEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: 'What a caller needs to authenticate one request with the connection: send apiKey in the header headerName' })
export class ApiKeyCredential {
  @Field(() => String)
  headerName!: string;

  @Field(() => String)
  apiKey!: string;
}

@InputType()
export class CreateApiKeyConnectionInput {
  @Field(() => String, { description: '1-64 of lowercase letters, digits, _ and -' })
  integration!: string;

  @Field(() => String, { description: "3-64 of letters, digits, _ and -; unique in the integration (CONFLICT otherwise)" })
  name!: string;

  @Field(() => String, { description: 'An HTTP header name, such as x-api-key; hop-by-hop, framing, cookie and forwarding headers are refused' })
  headerName!: string;

  @Field(() => String, { description: 'Printable ASCII, at most 4096 bytes. Stored encrypted; never shown again' })
  apiKey!: string;

  @Field(() => String, { description: 'A host name such as api.example.com, or *.example.com for its subdomains; no scheme, port or path' })
  allowedDomain!: string;

  @Field(() => ID, { nullable: true, description: "Defaults to the caller's tenant; only keyledger:root may name another" })
  tenantId?: string | null;
}

@InputType({ description: 'Fields left out stay as they are. Changing allowedDomain or headerName requires giving apiKey again.' })
export class UpdateApiKeyConnectionInput {
  @Field(() => String)
  integration!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  headerName?: string | null;

  @Field(() => String, { nullable: true, description: 'A replacement key; the previous one is destroyed for good' })
  apiKey?: string | null;

  @Field(() => String, { nullable: true })
  allowedDomain?: string | null;

  @Field(() => ID, { nullable: true })
  tenantId?: string | null;
}
