import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

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

/** CPU seconds the whole machine has been busy so far, every core and process (user, system, interrupts). */
export function machineBusySeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS_PER_SECOND;
}

/**
 * RSS (MiB) of a Node process that runs `args` with `nodeFlags`, read as it exits: the fixed cost
 * of a process before it holds any object (Node alone: `-e 0`; globalsvc loaded: its bundle's `--version`).
 */
export function rssAtExitMiB(
  nodeFlags: readonly string[],
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): { rssMiB: number; fileMiB: number } {
  const hook = `data:text/javascript,${encodeURIComponent(
    "import{readFileSync}from'node:fs';process.on('exit',()=>{const s=readFileSync('/proc/self/status','utf8');process.stderr.write('\\nRSS '+s.match(/VmRSS:\\s+(\\d+)/)[1]+' '+s.match(/RssFile:\\s+(\\d+)/)[1]+'\\n')})",
  )}`;
  const out = spawnSync(process.execPath, [...nodeFlags, `--import=${hook}`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const m = /RSS (\d+) (\d+)/.exec(out.stderr);
  if (!m) throw new Error(`no RSS from node ${args.join(' ')}: ${out.stderr}`);
  return { rssMiB: Number(m[1]) / 1024, fileMiB: Number(m[2]) / 1024 };
}

/** CPU seconds used so far by every process whose command name is one of `names`, by name. */
export function cpuSecondsByCommand(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
      if (comm in out) out[comm]! += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
