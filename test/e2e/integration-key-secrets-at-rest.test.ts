import Database from 'better-sqlite3';
import { filesUnder } from '../helpers/byte-scan';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { spawnGateway } from '../helpers/gateway-process';
import { makeTempDir } from '../helpers/temp-dir';
import { ROTATE, VERIFY } from './suites/token-operations';

function findBytes(dir: string, needles: ReadonlyArray<[label: string, bytes: Buffer]>): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const [label, needle] of needles) if (bytes.includes(needle)) hits.push(`${file} holds ${label}`);
  }
  return hits;
}

const forms = (secret: string): Array<[string, Buffer]> => [
  [`${secret.slice(0, 8)}… (utf8)`, Buffer.from(secret, 'utf8')],
  [`${secret.slice(0, 8)}… (utf16)`, Buffer.from(secret, 'utf16le')],
  [`${secret.slice(0, 8)}… (base64)`, Buffer.from(Buffer.from(secret).toString('base64'))],
  [`${secret.slice(0, 8)}… (base64url)`, Buffer.from(Buffer.from(secret).toString('base64url'))],
];

function wrappedKeyOf(dataDir: string, id: string): Buffer | null {
  const db = new Database(join(dataDir, 'keys.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT wrapped_key FROM data_keys WHERE id = ?').get(id) as { wrapped_key: Buffer } | undefined;
    return row?.wrapped_key ?? null;
  } finally {
    db.close();
  }
}

describe('integration key secrets at rest', () => {
  it('after create, rotate and revoke, no secret is in the data directory and the data key is gone from keys.db', async () => {
    const temp = makeTempDir();
    const gateway = await spawnGateway(temp.path, { LOG_LEVEL: 'trace' });
    try {
      const admin = await issueToken(gateway.url, ROOT_SECRET, { name: 'admin', tenantId: 'app-1', roles: ['keyledger:admin'] });
      const created = await fetch(`${gateway.url}/v2/apps/app-1/integrations/int-1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ displayName: 'shredded key' }),
      });
      expect(created.status).toBe(201);
      const { key } = (await created.json()) as { key: { id: string; secret: string } };
      const rotated = await graphql(gateway.url, ROTATE, { input: { id: key.id, gracePeriodSeconds: 3600 } }, admin.secret);
      const rotatedSecret: string = rotated.data!.rotateToken.secret;
      const secrets = [key.secret, rotatedSecret];

      // Both secrets are usable to sign, so both are recoverable: that is what the data key protects.
      for (const secret of secrets) {
        const jwt = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(new TextEncoder().encode(secret));
        expect((await graphql(gateway.url, VERIFY, { token: jwt }, admin.secret)).data!.verifyToken.code).toBe('VALID');
      }
      const wrapped = wrappedKeyOf(temp.path, key.id);
      expect(wrapped).not.toBeNull();
      expect(findBytes(temp.path, [['the wrapped data key', wrapped!]])).toEqual([`${join(temp.path, 'keys.db')} holds the wrapped data key`]);
      expect(findBytes(temp.path, secrets.flatMap(forms))).toEqual([]);

      const deleted = await fetch(`${gateway.url}/v2/apps/app-1/integrations/int-1/keys/${key.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${admin.secret}` },
      });
      expect(deleted.status).toBe(200);
      expect(wrappedKeyOf(temp.path, key.id)).toBeNull();
      const needles: Array<[string, Buffer]> = [...secrets.flatMap(forms), ['the wrapped data key', wrapped!]];
      expect(findBytes(temp.path, needles)).toEqual([]);

      expect(await gateway.kill('SIGTERM')).toBe(0);
      expect(findBytes(temp.path, needles)).toEqual([]);
      const logs = gateway.output();
      for (const secret of secrets) expect(logs).not.toContain(secret);
    } finally {
      await gateway.kill('SIGKILL');
      temp.remove();
    }
  });
});
