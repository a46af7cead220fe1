import { cpSync } from 'node:fs';
import { ROOT_SECRET, startTestGateway } from '../helpers/gateway';
import { runCli } from '../helpers/gateway-process';
import { createConnection, useConnection } from '../helpers/connections-client';
import { dumpReadModels } from '../helpers/read-models';
import { makeTempDir } from '../helpers/temp-dir';

describe('graceful stop', () => {
  it('leaves read models that hold every event the gateway appended, even those written while stopping', async () => {
    const data = makeTempDir();
    const copy = makeTempDir();
    try {
      const gw = await startTestGateway({ dataDir: data.path });
      await createConnection(gw.url, ROOT_SECRET, {
        integration: 'zis',
        name: 'mailer',
        headerName: 'x-api-key',
        apiKey: 'third-party-key-0123456789',
        allowedDomain: 'api.example.com',
        tenantId: 'acme',
      });
      // A use is recorded in the background; stopping right away appends it during shutdown.
      const used = await useConnection(gw.url, ROOT_SECRET, { integration: 'zis', name: 'mailer', url: 'https://api.example.com/v1', tenantId: 'acme' });
      expect(used.errors).toBeUndefined();
      await gw.stop();

      const live = dumpReadModels(data.path);
      expect((live.audit_entries as Array<{ event_type: string }>).map((entry) => entry.event_type)).toContain('ConnectionUsed');
      cpSync(data.path, copy.path, { recursive: true });
      const rebuild = await runCli(['rebuild'], { KEYLEDGER_DATA_DIR: copy.path, LOG_LEVEL: 'warn' });
      expect(rebuild.code).toBe(0);
      expect(live).toEqual(dumpReadModels(copy.path));
    } finally {
      data.remove();
      copy.remove();
    }
  });
});
