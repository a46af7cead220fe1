import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A P-256 key pair standing in for one of GitHub's secret-scanning signing keys. */
export interface ScannerKey {
  id: string;
  privateKey: KeyObject;
  publicPem: string;
}

export function scannerKey(id: string): ScannerKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function publicKeysDocument(keys: readonly ScannerKey[]): string {
  return JSON.stringify({ public_keys: keys.map((key, index) => ({ key_identifier: key.id, key: key.publicPem, is_current: index === 0 })) });
}

/** Writes the public-keys document into `dir` and returns its path. */
export function writePublicKeysFile(dir: string, keys: readonly ScannerKey[]): string {
  const path = join(dir, 'github-secret-scanning-keys.json');
  writeFileSync(path, publicKeysDocument(keys));
  return path;
}

/** Serves the public-keys document as GitHub does, counting the fetches. */
export async function servePublicKeys(keys: readonly ScannerKey[]): Promise<{ url: string; fetches(): number; close(): Promise<void> }> {
  let fetches = 0;
  const server: Server = createServer((_req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(publicKeysDocument(keys));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/meta/public_keys/secret_scanning`,
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The headers GitHub signs a report with: base64 DER ECDSA P-256 / SHA-256 over the raw body. */
export function signedHeaders(key: ScannerKey, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'github-public-key-identifier': key.id,
    'github-public-key-signature': sign('sha256', Buffer.from(body), key.privateKey).toString('base64'),
  };
}

export interface ReportAnswer {
  status: number;
  text: string;
  json: any;
}

export function postReport(url: string, body: string, headers: Record<string, string>): Promise<ReportAnswer> {
  return post(`${url}/secret-scanning/github`, body, headers);
}

export function postPublicRevocation(url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<ReportAnswer> {
  return post(`${url}/credentials/revoke`, body, headers);
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<ReportAnswer> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // left null: the assertion shows the text
  }
  return { status: response.status, text, json };
}
