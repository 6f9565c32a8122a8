import { readdirSync, readFileSync } from 'node:fs';

/** Sums the resident memory of every process whose command line mentions one of `markers`. */
export function residentBytes(markers: string[]): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!markers.some((m) => cmdline.includes(m))) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (rss) total += Number(rss) * 1024;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

/** Samples the test bed's memory every `intervalMs` and remembers the peak. */
export class MemorySampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly markers: string[],
    intervalMs = 2_000,
    private readonly onPeak: (peak: number) => void = () => {},
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const now = residentBytes(this.markers);
    if (now > this.peak) {
      this.peak = now;
      this.onPeak(now);
    }
    return now;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
