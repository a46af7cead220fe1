import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Where a push receiver may be. A stream's endpoint is chosen by whoever holds
 * `keyledger:events:read`, so without this check the gateway could be made to POST into the
 * network it runs in (metadata services, admin ports). The check is made on the address
 * actually connected to, after resolution, so a name that resolves differently later
 * (DNS rebinding) gains nothing.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** An address on the public internet: not loopback, private, link-local, shared, reserved or multicast. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]);
  return !NOT_PUBLIC.check(address, 'ipv6');
}

/** The host of a URL as an IP address, or null when it is a name. */
export function literalAddressOf(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}

export class ReceiverAddressRefused extends Error {
  override readonly name = 'ReceiverAddressRefused';
  readonly code = 'ENOTPUBLIC';
  constructor(host: string) {
    super(`${host} resolves to no public address; private receivers need KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES=allow`);
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** `dns.lookup` that answers only public addresses. */
function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const allowed = addresses.filter((entry) => isPublicAddress(entry.address));
    if (allowed.length === 0) return callback(new ReceiverAddressRefused(hostname), []);
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0].address, allowed[0].family);
  });
}

export interface PostedSet {
  status: number;
  /** The start of the answer's body: enough for an RFC 8935 error object. */
  text: string;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** POSTs one SET. Redirects are not followed; with `publicOnly`, only public addresses are connected to. */
export function postSet(endpoint: string, jwt: string, options: { signal: AbortSignal; publicOnly: boolean }): Promise<PostedSet> {
  const url = new URL(endpoint);
  const literal = literalAddressOf(url);
  if (options.publicOnly && literal !== null && !isPublicAddress(literal)) return Promise.reject(new ReceiverAddressRefused(literal));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json', 'content-length': Buffer.byteLength(jwt) },
        signal: options.signal,
        ...(options.publicOnly ? { lookup: publicLookup as never } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(jwt);
  });
}
