import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { allProjections, openReadModelDatabase, rebuildReadModels } from '../../projections';
import { ConfigError, loadConfig } from '../config';
import { openEventStore } from '../eventstore';
import { openCore } from '../gateway';
import { createLogger } from '../logger';
import { printGatewaySchema } from '../graphql/print-schema';
import { join } from 'node:path';

const USAGE = `Usage: keyledger <command>

Commands:
  serve               run the gateway (same as npm start)
  rebuild             drop the read models and replay the event log into them
  bootstrap [name]    issue a new keyledger:root token and print it once
  rotate-signing-key  sign partner access tokens with a new key from now on; the previous
                      key stays in the JWKS until the last token it signed has expired (24 h)
  schema [file]       write the GraphQL SDL (default: schema/schema.graphql)

Configuration comes from the same environment variables as the gateway (see README).`;

async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'serve':
      require('../main');
      return -1;
    case 'schema': {
      const file = resolve(args[0] ?? 'schema/schema.graphql');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, await printGatewaySchema());
      process.stdout.write(`wrote ${file}\n`);
      return 0;
    }
    case 'rebuild': {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel, destination: process.stderr as never });
      const store = await openEventStore(config, logger);
      const db = openReadModelDatabase(join(config.dataDir, 'readmodels.db'));
      try {
        const result = await rebuildReadModels(store, db, allProjections, logger);
        process.stdout.write(
          `rebuilt ${allProjections.length} read model(s) from ${result.events} event(s) in ${result.seconds.toFixed(2)} s\n`,
        );
      } finally {
        await store.close();
        db.close();
      }
      return 0;
    }
    case 'bootstrap': {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel, destination: process.stderr as never });
      const core = await openCore(config, logger);
      try {
        core.runner.start();
        while (!(await core.runner.waitUntilCaughtUp(60_000))) logger.info({}, 'catching up with the event log');
        const { record, secret } = await core.tokens.issueRootToken({ requestId: `cli-${randomUUID()}` }, args[0] ?? 'root (bootstrap CLI)');
        process.stderr.write(`Issued root token ${record.id} (${record.display}…). It is shown once; store it now:\n`);
        process.stdout.write(`${secret}\n`);
      } finally {
        await core.close();
      }
      return 0;
    }
    case 'rotate-signing-key': {
      const config = loadConfig();
      const logger = createLogger({ level: config.logLevel, destination: process.stderr as never });
      const core = await openCore(config, logger);
      try {
        core.runner.start();
        while (!(await core.runner.waitUntilCaughtUp(60_000))) logger.info({}, 'catching up with the event log');
        const requestId = `cli-${randomUUID()}`;
        // On a log no gateway has started on yet there is nothing to rotate: the first key is created instead.
        if ((await core.partners.signingKeys.ensureSigningKey({ requestId })) === 'created') {
          process.stdout.write(`created the first signing key ${core.partners.signingKeys.activeKey().kid}\n`);
          return 0;
        }
        const rotated = await core.partners.signingKeys.rotate({ requestId });
        process.stdout.write(
          `signing with ${rotated.kid}; ${rotated.previousKid} stays published until ${rotated.previousPublishedUntil.toISOString()}\n`,
        );
      } finally {
        await core.close();
      }
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return command ? 0 : 2;
    default:
      process.stderr.write(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error) => {
    process.stderr.write(`keyledger: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
