import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { dirname, resolve } from 'node:path';
import { openReadModelDatabase, readModelProjections, rebuildReadModels } from '../../projections';
import { auditReplaySource } from '../../projections/audit';
import { systemClock } from '../app/clock';
import { loadMasterKeys, openKeyRing } from '../app/deployment-keys/open-key-ring';
import { AuditFingerprinter } from '../crypto/audit-fingerprint';
import { verifyAuditExport } from '../app/audit/export-verifier';
import { Role } from '../domain/access/roles';
import { rotateMasterKey } from '../app/deployment-keys/master-key-rotation';
import { ConfigError, loadConfig, type Config } from '../config';
import { openEventStore } from '../eventstore';
import { openCore, type Core } from '../gateway';
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
  rotate-master-key   re-wrap the deployment secret and every data key (in EventStoreDB when
                      EVENTSTORE_CONNECTION_STRING is set, else in this machine's keys.db) under KEYLEDGER_MASTER_KEY (the new key), unwrapping with
                      KEYLEDGER_PREVIOUS_MASTER_KEY (the old one); see README, "Rotating the master key"
  schema [file]       write the GraphQL SDL (default: schema/schema.graphql)
  export-audit <tenant> [--from ISO] [--to ISO] [--format ndjson|csv] [--out file]
                      write a tenant's audit history (NDJSON ends with a signature line)
  verify-audit-export <file> --jwks <file|url> [--anchor <file>]
                      check an NDJSON audit export offline with the public JWKS only,
                      and against the tenant's anchored heads when given

Configuration comes from the same environment variables as the gateway (see README).`;

/** Logs go to stderr so that stdout carries only what a command prints for the operator. */
function cliLogger(config: Config) {
  return createLogger({ level: config.logLevel, destination: process.stderr as never });
}

/** Runs `work` on the full core once its read models have caught up with the log, then closes it. */
async function withCaughtUpCore<T>(work: (core: Core, logger: ReturnType<typeof cliLogger>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = cliLogger(config);
  const core = await openCore(config, logger);
  try {
    core.runner.start();
    while (!(await core.runner.waitUntilCaughtUp(60_000))) logger.info({}, 'catching up with the event log');
    return await work(core, logger);
  } finally {
    await core.close();
  }
}

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
      const logger = cliLogger(config);
      const masterKeys = loadMasterKeys(config, logger);
      const store = await openEventStore(config, logger);
      const db = openReadModelDatabase(join(config.dataDir, 'readmodels.db'));
      try {
        // The audit history fingerprints secrets under the audit key, which the log's deployment secret yields.
        const keys = await openKeyRing(store, masterKeys, { clock: systemClock, logger });
        const projections = readModelProjections(new AuditFingerprinter(keys.auditKey, keys.lookupPepper), auditReplaySource(store, keys, logger));
        const result = await rebuildReadModels(store, db, projections, logger);
        process.stdout.write(
          `rebuilt ${projections.length} read model(s) from ${result.events} event(s) in ${result.seconds.toFixed(2)} s\n`,
        );
      } finally {
        await store.close();
        db.close();
      }
      return 0;
    }
    case 'bootstrap':
      return withCaughtUpCore(async (core) => {
        const { record, secret } = await core.rootTokens.issueRootToken({ requestId: `cli-${randomUUID()}` }, args[0] ?? 'root (bootstrap CLI)');
        process.stderr.write(`Issued root token ${record.id} (${record.display}…). It is shown once; store it now:\n`);
        process.stdout.write(`${secret}\n`);
        return 0;
      });
    case 'rotate-signing-key':
      return withCaughtUpCore(async (core) => {
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
        return 0;
      });
    case 'rotate-master-key': {
      const config = loadConfig();
      if (!config.masterKey || !config.previousMasterKey) {
        throw new ConfigError('rotate-master-key needs KEYLEDGER_MASTER_KEY (the new key) and KEYLEDGER_PREVIOUS_MASTER_KEY (the one it replaces)');
      }
      const logger = cliLogger(config);
      const store = await openEventStore(config, logger);
      try {
        const report = await rotateMasterKey({ store, masterKeys: loadMasterKeys(config, logger), dataDir: config.dataDir, clock: systemClock, logger });
        const failed = Object.values(report.dataKeys).reduce((sum, outcome) => sum + outcome.failed.length, 0);
        process.stdout.write(`master key ${report.previous} -> ${report.current}\n`);
        process.stdout.write(`deployment secret: ${report.deploymentSecret}\n`);
        for (const [table, outcome] of Object.entries(report.dataKeys)) {
          process.stdout.write(`${table}: ${outcome.rewrapped} re-wrapped, ${outcome.unchanged} already current, ${outcome.failed.length} failed\n`);
        }
        if (failed > 0) {
          process.stderr.write(`${failed} data key(s) could not be re-wrapped (see the log); keep KEYLEDGER_PREVIOUS_MASTER_KEY until they are resolved\n`);
          return 1;
        }
        // On EventStoreDB every machine shares the data keys, so one run covers them all.
        const remaining = store.name === 'eventstoredb' ? '' : 'once every machine has run this, ';
        process.stdout.write(`done: ${remaining}remove KEYLEDGER_PREVIOUS_MASTER_KEY and restart the gateways\n`);
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'export-audit': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string', default: 'ndjson' }, out: { type: 'string' } },
      });
      const [tenantId] = positionals;
      if (!tenantId || (values.format !== 'ndjson' && values.format !== 'csv')) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const format = values.format;
      const instant = (value: string | undefined) => (value === undefined ? null : new Date(value).toISOString());
      return withCaughtUpCore(async (core) => {
        // Whoever runs the CLI holds the data directory and the master key already: it acts as root.
        const operator = { id: 'cli', tenantId, roles: [Role.root], type: 'system' as const };
        const out = values.out ? createWriteStream(values.out) : process.stdout;
        await core.audit.exportTo(
          { principal: async () => operator },
          { tenantId, from: instant(values.from), to: instant(values.to), format },
          out,
        );
        if (out !== process.stdout) await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
        return 0;
      });
    }
    case 'verify-audit-export': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { jwks: { type: 'string' }, anchor: { type: 'string' } } });
      const [file] = positionals;
      if (!file || !values.jwks) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const jwks = /^https?:\/\//.test(values.jwks)
        ? ((await (await fetch(values.jwks)).json()) as JSONWebKeySet)
        : (JSON.parse(readFileSync(values.jwks, 'utf8')) as JSONWebKeySet);
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
      const anchor = values.anchor === undefined ? undefined : readFileSync(values.anchor, 'utf8');
      const report = await verifyAuditExport(lines, jwks, anchor);
      if (!report.ok) {
        process.stderr.write(`audit export does NOT verify: ${report.problem} (after ${report.entries} verified entries)\n`);
        return 1;
      }
      const anchored = report.anchoredHeadsChecked === null ? '' : `, ${report.anchoredHeadsChecked} anchored head(s) matched`;
      process.stdout.write(`ok: ${report.entries} entries of tenant ${report.tenantId}, head ${report.hash}, signed by ${report.kid}${anchored}\n`);
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
    process.exit(error instanceof ConfigError ? 78 : 1);
  },
);
