import type { IncomingMessage } from 'node:http';
import express from 'express';
import type { TrustProxy } from '../config';

type TrustFunction = (address: string, hop: number) => boolean;

/**
 * The client address of a request that express does not see (a WebSocket upgrade), by the
 * same rule as express's `req.ip` under the same `trust proxy` setting: walk X-Forwarded-For
 * from the nearest hop and stop at the first address that is not a trusted proxy.
 */
export function clientAddressOf(trustProxy: TrustProxy): (request: IncomingMessage) => string | undefined {
  // express compiles the setting (hop counts, CIDR lists, named ranges); this reuses its reading.
  const trust = express().set('trust proxy', trustProxy).get('trust proxy fn') as TrustFunction;
  return (request) => {
    const socketAddress = request.socket.remoteAddress;
    if (socketAddress === undefined || trustProxy === false) return socketAddress;
    const header = request.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0)
      .reverse();
    const chain = [socketAddress, ...forwarded];
    for (let hop = 0; hop < chain.length - 1; hop++) {
      if (!trust(chain[hop], hop)) return chain[hop];
    }
    return chain[chain.length - 1];
  };
}
