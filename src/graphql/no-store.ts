import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';

/**
 * Every GraphQL response is `Cache-Control: no-store`: answers carry secrets and verdicts on
 * credentials that may change at any moment. No field sets a cache hint, so Apollo's cache
 * control, which prices each resolved field only to arrive at this same header, is left out.
 */
export function noStorePlugins<TContext extends BaseContext>(): ApolloServerPlugin<TContext>[] {
  return [
    ApolloServerPluginCacheControlDisabled(),
    {
      async requestDidStart() {
        return {
          async willSendResponse({ response }) {
            if (!response.http.headers.has('cache-control')) response.http.headers.set('cache-control', 'no-store');
          },
        };
      },
    },
  ];
}
