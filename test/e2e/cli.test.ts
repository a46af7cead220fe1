import { spawnSync } from 'node:child_process';
import { graphql } from '../helpers/graphql-client';
import { MAIN_JS, runCli, spawnGateway } from '../helpers/gateway-process';
import { makeTempDir } from '../helpers/temp-dir';

describe('command line', () => {
  it('bootstrap prints a new root token once, on stdout only, and it works against the gateway', async () => {
    const temp = makeTempDir();
    try {
      const result = await runCli(['bootstrap', 'ops on-call'], { KEYLEDGER_DATA_DIR: temp.path, LOG_LEVEL: 'silent' });
      expect(result.code).toBe(0);
      const secret = result.stdout.trim();
      expect(secret).toMatch(/^klt_[0-9A-Za-z]{36}$/);
      expect(result.stderr).toMatch(/shown once/);
      expect(result.stderr).not.toContain(secret);

      const gateway = await spawnGateway(temp.path, { KEYLEDGER_BOOTSTRAP_TOKEN: '' });
      try {
        const viewer = await graphql(gateway.url, '{ viewer { tenantId roles } }', {}, secret);
        expect(viewer.data!.viewer).toEqual({ tenantId: 'system', roles: ['keyledger:root'] });
        expect(gateway.output()).not.toContain(secret);
      } finally {
        await gateway.kill('SIGTERM');
      }
    } finally {
      temp.remove();
    }
  });

  it('explains its commands and refuses unknown ones', async () => {
    const help = await runCli(['help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/rebuild/);
    const unknown = await runCli(['frobnicate'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command "frobnicate"/);
  });

  it('refuses to start on invalid configuration, naming the variable', () => {
    const temp = makeTempDir();
    try {
      const result = spawnSync(process.execPath, [MAIN_JS], {
        env: { PATH: process.env.PATH, KEYLEDGER_DATA_DIR: temp.path, PORT: 'eighty', KEYLEDGER_BOOTSTRAP_TOKEN: 'too short' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(78);
      expect(result.stderr).toMatch(/PORT/);
      expect(result.stderr).toMatch(/KEYLEDGER_BOOTSTRAP_TOKEN: must be at least 32 characters/);
      expect(result.stderr).not.toContain('too short');
    } finally {
      temp.remove();
    }
  });

  it('requires a master key in production', () => {
    const temp = makeTempDir();
    try {
      const result = spawnSync(process.execPath, [MAIN_JS], {
        env: { PATH: process.env.PATH, KEYLEDGER_DATA_DIR: temp.path, NODE_ENV: 'production' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(78);
      expect(result.stderr).toMatch(/KEYLEDGER_MASTER_KEY is required when NODE_ENV=production/);
    } finally {
      temp.remove();
    }
  });
});
