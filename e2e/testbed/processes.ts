import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Long-running processes of the test bed (CoreDNS, service mirrors, the product). Each runs in
 * its own process group, with its output in a log file, and its pid in a state file, so that a
 * test bed torn down by a crash or a Ctrl-C is still cleaned up by the next run.
 */
export interface StartOptions {
  /**
   * Restart the process whenever it exits on its own, as kubelet restarts a crashed container:
   * after 1 s, doubling to at most 16 s, back to 1 s once it ran for a minute. stop() ends it for good.
   */
  restart?: boolean;
}

const RESTART_INITIAL_MS = 1_000;
const RESTART_MAX_MS = 16_000;
const RESTART_RESET_AFTER_MS = 60_000;

export class ProcessGroup {
  private readonly children = new Map<string, ChildProcess>();
  /** Supervised processes: the restart pending, and how many restarts in a row so far. */
  private readonly supervised = new Map<string, { timer?: NodeJS.Timeout; restarts: number }>();
  private readonly stateFile: string;
  private readonly lineListeners = new Set<(name: string, line: string) => void>();

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    this.stateFile = join(dir, 'pids.json');
  }

  /** Calls `listener` with every line any process of the group writes from now on; returns its removal. */
  onLine(listener: (name: string, line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
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

  start(
    name: string,
    command: string,
    args: string[],
    env: Record<string, string | undefined> = {},
    options: StartOptions = {},
  ): ChildProcess {
    if (this.children.has(name)) throw new Error(`process ${name} is already running`);
    const log = createWriteStream(this.logFile(name), { flags: 'a' });
    // A log line after the streams closed must never take the test bed down (the soak crashed on one).
    log.on('error', () => {});
    const child = spawn(command, args, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const started = Date.now();
    // The log outlives the pipes: the exit line below is written after both have ended.
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    for (const stream of [child.stdout, child.stderr])
      if (stream) createInterface({ input: stream }).on('line', (line) => this.lineListeners.forEach((l) => l(name, line)));
    child.once('close', () => log.end());
    child.once('exit', (code, signal) => {
      if (this.children.get(name) === child) this.children.delete(name);
      this.saveState();
      const supervision = this.supervised.get(name);
      if (!supervision) return;
      if (Date.now() - started >= RESTART_RESET_AFTER_MS) supervision.restarts = 0;
      const delay = Math.min(RESTART_MAX_MS, RESTART_INITIAL_MS * 2 ** supervision.restarts++);
      log.write(`\n[test bed] ${name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms\n`);
      supervision.timer = setTimeout(() => {
        supervision.timer = undefined;
        if (this.supervised.get(name) === supervision) this.start(name, command, args, env, options);
      }, delay);
      supervision.timer.unref();
    });
    this.children.set(name, child);
    if (options.restart && !this.supervised.has(name)) this.supervised.set(name, { restarts: 0 });
    this.saveState();
    return child;
  }

  /** How often a supervised process was restarted in a row (0 once it has run for a minute). */
  restarts(name: string): number {
    return this.supervised.get(name)?.restarts ?? 0;
  }

  /** Ends a process's supervision: it is not restarted after its next exit. */
  private unsupervise(name: string): void {
    const supervision = this.supervised.get(name);
    if (supervision?.timer) clearTimeout(supervision.timer);
    this.supervised.delete(name);
  }

  has(name: string): boolean {
    return this.children.has(name);
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  /** Stops one process (SIGTERM, then SIGKILL after `graceMs`); resolves with its exit code. */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    this.unsupervise(name);
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
    for (const name of [...this.supervised.keys()]) this.unsupervise(name);
    await Promise.all([...this.children.keys()].map((n) => this.stop(n, 'SIGTERM', 5_000)));
  }

  /** Synchronous last resort for process exit handlers. */
  killAllNow(): void {
    for (const name of [...this.supervised.keys()]) this.unsupervise(name);
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
