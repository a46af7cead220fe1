import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file below `dir`: event log, read models, WAL, journal and shm files, keys.db. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The encodings a careless write could leave a secret in. */
export function encodedForms(secret: string): Buffer[] {
  const utf8 = Buffer.from(secret, 'utf8');
  return [utf8, Buffer.from(secret, 'utf16le'), Buffer.from(utf8.toString('base64')), Buffer.from(utf8.toString('base64url')), Buffer.from(utf8.toString('hex'))];
}

/** Files under `dir` whose bytes hold any secret in any of its encoded forms; empty when clean. */
export function findSecrets(dir: string, secrets: readonly string[]): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const secret of secrets) {
      if (encodedForms(secret).some((form) => bytes.includes(form))) hits.push(`${file} holds ${secret.slice(0, 8)}…`);
    }
  }
  return hits;
}
