import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * No Docker engine runs in CI, so the container files are checked statically: the wiring
 * between services, and that the image would start the file the build produces.
 */
const ROOT = join(__dirname, '../..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  healthcheck?: { test?: string | string[] };
  ports?: Array<string | number | { target?: number; published?: string | number }>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const split = entry.indexOf('=');
        return split < 0 ? [entry, ''] : [entry.slice(0, split), entry.slice(split + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, value == null ? '' : String(value)]));
}

/** Named volumes a service mounts; bind mounts (paths) need no declaration. */
function namedVolumesOf(service: ComposeService): string[] {
  return (service.volumes ?? []).flatMap((volume) => {
    const source = typeof volume === 'string' ? (volume.includes(':') ? volume.split(':')[0] : '') : volume.type === 'bind' ? '' : (volume.source ?? '');
    return source && !/^[./~$]/.test(source) ? [source] : [];
  });
}

function mountTargetsOf(service: ComposeService): string[] {
  return (service.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':')[1] : (volume.target ?? '')));
}

/** The JSON (exec) form of each instruction, in file order; shell forms are reported as strings. */
function dockerInstructions(dockerfile: string): Array<{ instruction: string; args: string }> {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const [instruction, ...rest] = line.split(/\s+/);
      return { instruction: instruction.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of the last stage, the one the image runs. */
function finalStage(dockerfile: string) {
  const instructions = dockerInstructions(dockerfile);
  const lastFrom = instructions.map((entry) => entry.instruction).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as ComposeFile;
  const eventstore = compose.services.eventstore;
  const keyledger = compose.services.keyledger;

  it('has an eventstore service on an official EventStoreDB 24.x image and a keyledger service built from the Dockerfile', () => {
    expect(eventstore).toBeDefined();
    expect(eventstore.image).toMatch(/^eventstore\/eventstore:24\.\d+(\.\d+)?(-[\w.-]+)?$/);
    expect(keyledger).toBeDefined();
    expect(keyledger.build).toBeDefined();
  });

  it("points keyledger at the eventstore service's gRPC port without TLS", () => {
    const url = new URL(environmentOf(keyledger).EVENTSTORE_CONNECTION_STRING);
    expect(url.protocol).toBe('esdb:');
    expect(url.hostname).toBe('eventstore');
    expect(Object.keys(compose.services)).toContain(url.hostname);
    expect(url.port).toBe('2113');
    expect(url.searchParams.get('tls')).toBe('false');
  });

  it('runs EventStoreDB as an insecure single node, to match tls=false', () => {
    expect(environmentOf(eventstore)).toMatchObject({ EVENTSTORE_INSECURE: 'true', EVENTSTORE_CLUSTER_SIZE: '1' });
  });

  it('starts keyledger only once EventStoreDB reports itself healthy, which needs a healthcheck', () => {
    expect(Array.isArray(keyledger.depends_on)).toBe(false);
    expect((keyledger.depends_on as Record<string, { condition?: string }>).eventstore).toEqual({ condition: 'service_healthy' });
    const test = eventstore.healthcheck?.test;
    expect([test].flat().join(' ')).toContain('http://localhost:2113/health/live');
  });

  it('requires the shared master key and the bootstrap token from the environment, with a message', () => {
    const environment = environmentOf(keyledger);
    expect(environment.KEYLEDGER_MASTER_KEY).toMatch(/^\$\{KEYLEDGER_MASTER_KEY:\?[^}]+\}$/);
    expect(environment.KEYLEDGER_BOOTSTRAP_TOKEN).toMatch(/^\$\{KEYLEDGER_BOOTSTRAP_TOKEN:\?[^}]+\}$/);
  });

  it('declares every named volume a service mounts, and mounts one on the data directory the image uses', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = Object.values(compose.services).flatMap(namedVolumesOf);
    expect(used.length).toBeGreaterThan(0);
    for (const volume of used) expect(declared).toContain(volume);

    const dataDir = finalStage(read('Dockerfile'))
      .filter((entry) => entry.instruction === 'ENV')
      .map((entry) => /KEYLEDGER_DATA_DIR=(\S+)/.exec(entry.args)?.[1])
      .find(Boolean);
    expect(dataDir).toBe('/data');
    expect(mountTargetsOf(keyledger)).toContain(dataDir);
  });

  it("publishes the gateway's port", () => {
    expect((keyledger.ports ?? []).map(String)).toContain('4000:4000');
  });

  it('gives keyledger a public URL a client can reach (the image listens on 0.0.0.0, which no client can)', () => {
    const configured = environmentOf(keyledger).KEYLEDGER_PUBLIC_URL;
    expect(configured).toBeDefined();
    const fallback = /^\$\{KEYLEDGER_PUBLIC_URL:-([^}]+)\}$/.exec(configured)?.[1] ?? configured;
    const url = new URL(fallback);
    expect(url.hostname).not.toMatch(/^(0\.0\.0\.0|\[::\])$/);
    expect(url.port).toBe('4000');
  });

  it('has a readiness healthcheck on keyledger, for `docker compose up --wait`', () => {
    expect([keyledger.healthcheck?.test].flat().join(' ')).toContain('/readyz');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const runtime = finalStage(dockerfile);
  const execForm = (instruction: string): string[] => {
    const entries = runtime.filter((entry) => entry.instruction === instruction);
    expect(entries).toHaveLength(1);
    return JSON.parse(entries[0].args) as string[];
  };

  it('builds on node:24-bookworm-slim, a supported LTS that CI tests, in both stages', () => {
    const bases = dockerInstructions(dockerfile).filter((entry) => entry.instruction === 'FROM');
    expect(bases).toHaveLength(2);
    for (const base of bases) expect(base.args).toMatch(/^node:24-bookworm-slim\b/);
    expect(read('.ci/run')).toMatch(/^for major in [\d ]*\b24\b/m);
  });

  it('runs as a non-root user, listens on all interfaces on 4000, and probes /healthz with node', () => {
    const user = runtime.filter((entry) => entry.instruction === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.filter((entry) => entry.instruction === 'ENV').map((entry) => entry.args).join(' ')).toContain('HOST=0.0.0.0');
    expect(runtime.some((entry) => entry.instruction === 'EXPOSE' && entry.args.split(/\s+/).includes('4000'))).toBe(true);
    const healthcheck = runtime.find((entry) => entry.instruction === 'HEALTHCHECK')!.args;
    const probe = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    expect(probe[0]).toBe('node');
    expect(probe.join(' ')).toContain('/healthz');
  });

  it('copies what `npm run build` runs into the build stage', () => {
    const build = (JSON.parse(read('package.json')) as { scripts: { build: string } }).scripts.build;
    const script = /^node (\S+)$/.exec(build)?.[1];
    expect(script).toBeDefined();
    const copied = dockerInstructions(dockerfile)
      .filter((entry) => entry.instruction === 'COPY')
      .map((entry) => entry.args.split(/\s+/)[0]);
    expect(copied).toContain(script!.split('/')[0]);
  });

  it('builds the console into the image: the sources and Vite config are copied, built before dev dependencies are pruned, and served from dist', () => {
    const instructions = dockerInstructions(dockerfile);
    const runBuild = instructions.findIndex((entry) => entry.instruction === 'RUN' && /npm run build\b/.test(entry.args));
    expect(runBuild).toBeGreaterThan(-1);
    expect(instructions[runBuild].args.indexOf('npm run build')).toBeLessThan(instructions[runBuild].args.indexOf('npm prune'));
    const copiedBefore = instructions.slice(0, runBuild).filter((entry) => entry.instruction === 'COPY').map((entry) => entry.args);
    expect(copiedBefore.some((args) => /^src\s/.test(args))).toBe(true);
    expect(existsSync(join(ROOT, 'src/console/vite.config.mts'))).toBe(true);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.build).toBe('node src/build.js');
    expect(read('src/build.js')).toContain('build:console');
    expect(scripts['build:console']).toContain('src/console/vite.config.mts');
    expect(runtime.some((entry) => entry.instruction === 'COPY' && /\/app\/dist\s/.test(entry.args))).toBe(true);
  });

  it('starts the entry point package.json names, which the build produces', () => {
    const cmd = execForm('CMD');
    const main = (JSON.parse(read('package.json')) as { main: string }).main;
    expect(cmd).toEqual(['node', main]);
    const built = join(ROOT, main);
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` (npm test does it first)`);
  });
});
