import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Long-running processes of the test bed (CoreDNS, service mirrors, the product). Each runs in
 * its own process group, with its output in a log file, and its pid in a state file, so that a
 * test bed torn down by a crash or a Ctrl-C is still cleaned up by the next run.
 */
export class ProcessGroup {
  private readonly children = new Map<string, ChildProcess>();
  private readonly stateFile: string;

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    this.stateFile = join(dir, 'pids.json');
  }

  logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  private saveState(): void {
    writeFileSync(this.stateFile, JSON.stringify(Object.fromEntries([...this.children].map(([n, c]) => [n, c.pid]))));
  }

  /** Kills process groups a previous, interrupted run left behind. */
  static killLeftovers(dir: string): number {
    const file = join(dir, 'pids.json');
    if (!existsSync(file)) return 0;
    let killed = 0;
    for (const pid of Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>)) {
      try {
        process.kill(-pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    writeFileSync(file, '{}');
    return killed;
  }

  start(name: string, command: string, args: string[], env: Record<string, string | undefined> = {}): ChildProcess {
    if (this.children.has(name)) throw new Error(`process ${name} is already running`);
    const log = createWriteStream(this.logFile(name), { flags: 'a' });
    const child = spawn(command, args, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('exit', () => {
      if (this.children.get(name) === child) this.children.delete(name);
      this.saveState();
    });
    this.children.set(name, child);
    this.saveState();
    return child;
  }

  has(name: string): boolean {
    return this.children.has(name);
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** Stops one process (SIGTERM, then SIGKILL after `graceMs`); resolves with its exit code. */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    const child = this.children.get(name);
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // gone already
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children.keys()].map((n) => this.stop(n, 'SIGTERM', 5_000)));
  }

  /** Synchronous last resort for process exit handlers. */
  killAllNow(): void {
    for (const child of this.children.values()) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
