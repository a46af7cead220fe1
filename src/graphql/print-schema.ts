import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildGatewaySchema } from './schema';

export const SCHEMA_HEADER = '# Generated from the code by `npm run schema`. Do not edit by hand.\n\n';

/** The SDL of the public contract, sorted so that the committed file diffs cleanly. */
export async function printGatewaySchema(): Promise<string> {
  return `${SCHEMA_HEADER}${printSchema(lexicographicSortSchema(await buildGatewaySchema(null)))}\n`;
}
