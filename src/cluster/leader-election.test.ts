import { describe, expect, it } from 'vitest';
import type { KubeApi } from './kube-api.js';
import { KubeApiError } from './kube-api.js';
import { LeaderElector } from './leader-election.js';

/** One Lease in memory with the API server's resourceVersion checks, and a switch to fail. */
class LeaseServer {
  lease: { metadata: { resourceVersion: string }; spec: Record<string, unknown> } | undefined;
  down = false;
  private version = 1;

  readonly api = {
    request: async (
      verb: string,
      _type: unknown,
      _method: string,
      _path: string,
      opts: { body?: { metadata?: { resourceVersion?: string }; spec: Record<string, unknown> } } = {},
    ) => {
      if (this.down) throw new KubeApiError(verb as never, 'Lease', 'x', 0, 'ConnectionFailed', 'down');
      if (verb === 'get') {
        if (!this.lease) throw new KubeApiError('get', 'Lease', 'x', 404, 'NotFound', '');
        return structuredClone(this.lease);
      }
      if (verb === 'create') {
        if (this.lease) throw new KubeApiError('create', 'Lease', 'x', 409, 'AlreadyExists', '');
        this.lease = { metadata: { resourceVersion: String(++this.version) }, spec: opts.body!.spec };
        return this.lease;
      }
      if (this.lease?.metadata.resourceVersion !== opts.body!.metadata!.resourceVersion)
        throw new KubeApiError('update', 'Lease', 'x', 409, 'Conflict', '');
      this.lease = { metadata: { resourceVersion: String(++this.version) }, spec: opts.body!.spec };
      return this.lease;
    },
  };
}

function candidate(server: LeaseServer, identity: string, clock: { now: number }, log: string[]) {
  return new LeaderElector(
    server.api as unknown as KubeApi,
    { namespace: 'globalsvc', name: 'globalsvc', identity, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
    { startedLeading: () => log.push(`${identity} leads`), stoppedLeading: (why) => log.push(`${identity} stops: ${why}`) },
    () => clock.now,
  );
}

// Drives the electors' private tick by hand, so time is the test's and not the machine's.
const tick = (e: LeaderElector) => (e as unknown as { tick: () => Promise<void>; stopped: boolean }).tick();

describe('leader election', () => {
  it('has one leader; a standby takes over only after the lease duration without renewal', async () => {
    const server = new LeaseServer();
    const clock = { now: 0 };
    const log: string[] = [];
    const a = candidate(server, 'a', clock, log);
    const b = candidate(server, 'b', clock, log);
    await tick(a);
    await tick(b);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    // a dies (stops renewing); b watches the record stay the same.
    for (let t = 2_000; t <= 14_000; t += 2_000) {
      clock.now = t;
      await tick(b);
      expect(b.isLeader).toBe(false);
    }
    clock.now = 16_000;
    await tick(b);
    expect(b.isLeader).toBe(true);
    expect(server.lease!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(log).toEqual(['a leads', 'b leads']);
  });

  it('stops leading when it cannot renew for the renew deadline, before the lease can expire', async () => {
    const server = new LeaseServer();
    const clock = { now: 0 };
    const log: string[] = [];
    const a = candidate(server, 'a', clock, log);
    await tick(a);
    server.down = true;
    for (clock.now = 2_000; clock.now <= 10_000; clock.now += 2_000) {
      await tick(a);
      expect(a.isLeader).toBe(true);
    }
    clock.now = 12_000;
    await tick(a);
    expect(a.isLeader).toBe(false);
    expect(log.at(-1)).toBe('a stops: could not renew the lease for 10000 ms');
    // It stopped 12 s after its last renewal: 3 s before the 15 s lease would let another in.
  });

  it('hands the lease back on release, so a standby need not wait it out', async () => {
    const server = new LeaseServer();
    const clock = { now: 0 };
    const log: string[] = [];
    const a = candidate(server, 'a', clock, log);
    const b = candidate(server, 'b', clock, log);
    await tick(a);
    await a.release();
    clock.now = 2_000;
    await tick(b);
    expect(b.isLeader).toBe(true);
  });
});
