import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The product under a memory limit the kernel enforces, as in a Pod with the chart's
// resources.limits.memory: Node sizes V8's heap from that limit (process.constrainedMemory()),
// so a figure measured without one says little about a deployed controller.

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

/**
 * Creates (or resets) the memory cgroup `name` limited to `mib` MiB and returns its `cgroup.procs`
 * file, into which a process writes its pid before it execs the product. Throws, saying why, where
 * this machine has no writable memory controller.
 */
export function memoryCgroup(name: string, mib: number): string {
  const bytes = String(mib * 2 ** 20);
  if (existsSync(join(V1, 'memory.limit_in_bytes'))) {
    const dir = join(V1, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.limit_in_bytes'), bytes);
    return join(dir, 'cgroup.procs');
  }
  if (readFileSync(join(V2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) {
    const dir = join(V2, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.max'), bytes);
    return join(dir, 'cgroup.procs');
  }
  throw new Error(`--product-memory-limit: no writable memory cgroup here (neither ${V1} nor memory in ${V2}/cgroup.subtree_control)`);
}
