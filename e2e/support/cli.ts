import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../testbed/binaries.js';
import { ENTRYPOINT } from '../../src/cli/node-flags.js';
import type { TestBed } from '../testbed/testbed.js';

export interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs a command to its end and returns its exit status and output, whatever the status. */
export async function exec(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Exit> {
  try {
    return { code: 0, ...(await execFileAsync(command, args, { env, maxBuffer: 16 * 1024 * 1024 })) };
  } catch (err) {
    const e = err as Partial<Exit>;
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `node dist/globalsvc.mjs status …` against one cluster, as its admin. */
export const status = (bed: TestBed, viewer: string, ...args: string[]) =>
  exec(process.execPath, [
    join(repoRoot, ENTRYPOINT),
    'status',
    `--cluster-name=${viewer}`,
    `--kubeconfig=${bed.cluster(viewer).kubeconfig}`,
    ...args,
  ]);
