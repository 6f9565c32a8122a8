import { readFileSync } from 'node:fs';

// What /proc says about one process: the figures the benchmarks report, read from outside so that
// measuring costs the measured process nothing.

const CLOCK_TICKS_PER_SECOND = 100;

function stat(pid: number): string[] {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: split after its closing parenthesis.
  return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
}

/** Seconds since boot, to 10 ms. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Seconds the process has been running, to 10 ms. */
export function ageSeconds(pid: number): number {
  return uptimeSeconds() - Number(stat(pid)[19]) / CLOCK_TICKS_PER_SECOND;
}

/** User plus system CPU seconds the process has used. */
export function cpuSeconds(pid: number): number {
  const s = stat(pid);
  return (Number(s[11]) + Number(s[12])) / CLOCK_TICKS_PER_SECOND;
}

export interface Memory {
  rssMiB: number;
  peakRssMiB: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}
