/** A GraphQL error as a server answers it, with its `extensions.code`. */
export interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string };
}

export class GraphQLRequestError extends Error {
  override name = 'GraphQLRequestError';
}

/**
 * Posts one operation and returns its `data`. Any GraphQL error or non-2xx status throws,
 * naming the error codes, so a benchmark never mistakes a refusal for a result.
 */
export async function graphqlRequest<T>(url: string, query: string, variables: Record<string, unknown> = {}, bearer?: string): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await response.text();
  let body: { data?: T | null; errors?: GraphQLErrorBody[] };
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    throw new GraphQLRequestError(`HTTP ${response.status} with a body that is not JSON`);
  }
  if (body.errors?.length) {
    const codes = body.errors.map((error) => `${error.extensions?.code ?? 'NO_CODE'}: ${error.message}`);
    throw new GraphQLRequestError(`HTTP ${response.status}: ${codes.join('; ')}`);
  }
  if (!response.ok || body.data == null) throw new GraphQLRequestError(`HTTP ${response.status} without data`);
  return body.data;
}

/** Runs `task` over `items` with at most `concurrency` in flight, keeping the results in order. */
export async function mapConcurrently<I, O>(
  items: readonly I[],
  concurrency: number,
  task: (item: I, index: number) => Promise<O>,
): Promise<O[]> {
  const results = new Array<O>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
