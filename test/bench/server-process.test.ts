import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarise } from '../../bench/profile-summary';
import { CPU_PROFILE_DIR_VARIABLE, ProcessGroup, startServerProcess } from '../../bench/lib/server-process';
import { makeTempDir } from '../helpers/temp-dir';

const SERVER = `
const http = require('node:http');
let spin = 0;
http.createServer((req, res) => {
  if (req.url === '/work') { const start = process.cpuUsage(); while (process.cpuUsage(start).user < 100000) spin++; }
  res.end(JSON.stringify({ path: req.url, env: process.env.GREETING ?? null, home: process.env.HOME ?? null }));
}).listen(Number(process.env.PORT), process.env.HOST);
`;

describe('a server process', () => {
  const temp = makeTempDir('keyledger-bench-process');
  const script = join(temp.path, 'server.js');
  const failing = join(temp.path, 'failing.js');
  writeFileSync(script, SERVER);
  writeFileSync(failing, "process.stderr.write('no database here'); process.exit(3);");
  const exiting = join(temp.path, 'exiting.js');
  writeFileSync(exiting, `${SERVER}\nprocess.once('SIGTERM', () => process.exit(0));\n`);
  afterAll(() => temp.remove());

  it('listens on the port it is given, with exactly the environment it is given, until stopped', async () => {
    const server = await startServerProcess(script, { GREETING: 'hello' }, '/readyz');
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const answer = (await (await fetch(`${server.url}/x`)).json()) as { path: string; env: string; home: string | null };
      expect(answer).toEqual({ path: '/x', env: 'hello', home: null });
    } finally {
      await server.stop();
    }
    await expect(fetch(`${server.url}/x`)).rejects.toThrow();
  });

  it('reports the CPU time and the write system calls the process used: a write at least for each answer it sent', async () => {
    const server = await startServerProcess(script, {}, '/readyz');
    try {
      const cpuBefore = server.cpuSeconds();
      const writesBefore = server.writeCalls();
      if (process.platform !== 'linux') {
        expect(cpuBefore).toBeNull();
        expect(writesBefore).toBeNull();
        return;
      }
      await fetch(`${server.url}/work`);
      expect(server.cpuSeconds()!).toBeGreaterThan(cpuBefore!);
      for (let i = 0; i < 5; i++) await fetch(`${server.url}/x`);
      // Six answers sent since the first reading.
      expect(server.writeCalls()! - writesBefore!).toBeGreaterThanOrEqual(5);
    } finally {
      await server.stop();
    }
  });

  it('rejects with what the process wrote when it exits before it is ready', async () => {
    await expect(startServerProcess(failing, {}, '/readyz')).rejects.toThrow(/exited \(3\) before it was ready:\s+no database here/);
  });

  it('stops every process of a group that came up, even when another failed to start', async () => {
    const group = new ProcessGroup();
    const up = group.add(startServerProcess(script, {}, '/readyz'));
    const down = group.add(startServerProcess(failing, {}, '/readyz'));
    await expect(down).rejects.toThrow('exited');
    const { url } = await up;
    await group.stopAll();
    await expect(fetch(`${url}/x`)).rejects.toThrow();
  });

  it(`writes a CPU profile of each process into the directory ${CPU_PROFILE_DIR_VARIABLE} names, which the summary reads`, async () => {
    const profiles = join(temp.path, 'profiles');
    const previous = process.env[CPU_PROFILE_DIR_VARIABLE];
    process.env[CPU_PROFILE_DIR_VARIABLE] = profiles;
    try {
      const server = await startServerProcess(exiting, {}, '/readyz');
      await fetch(`${server.url}/work`);
      await server.stop();
    } finally {
      if (previous === undefined) delete process.env[CPU_PROFILE_DIR_VARIABLE];
      else process.env[CPU_PROFILE_DIR_VARIABLE] = previous;
    }
    const written = readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile'));
    expect(written).toHaveLength(1);
    const summary = summarise(join(profiles, written[0]), 3, 5);
    expect(summary).toContain('self time by module');
    expect(summary).toContain('inclusive time by function');
  });
});
