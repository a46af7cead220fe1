import { readFileSync } from 'node:fs';

/** Resident set size of a process and its peak so far, in MiB, from /proc (Linux). */
export function residentMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]) / 1024;
  };
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}
