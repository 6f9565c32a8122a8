import { Resolver } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessGroup } from './processes.js';
import { waitFor } from './processes.js';

/** A CoreDNS answering cluster.local for one cluster from its API server, on a loopback port. */
export class ClusterDns {
  private readonly resolver = new Resolver({ timeout: 2_000, tries: 1 });

  constructor(
    readonly cluster: string,
    readonly port: number,
  ) {
    this.resolver.setServers([`127.0.0.1:${port}`]);
  }

  static async start(
    procs: ProcessGroup,
    dir: string,
    coredns: string,
    cluster: string,
    kubeconfig: string,
    port: number,
  ): Promise<ClusterDns> {
    const corefile = join(dir, `Corefile.${cluster}`);
    writeFileSync(
      corefile,
      `cluster.local:${port} {\n    bind 127.0.0.1\n    errors\n    kubernetes cluster.local {\n        kubeconfig ${kubeconfig}\n        ttl 0\n    }\n}\n`,
    );
    procs.start(`coredns-${cluster}`, coredns, ['-conf', corefile]);
    const dns = new ClusterDns(cluster, port);
    // kubernetes.default always exists: an answer means CoreDNS synced with the API server.
    await waitFor(`CoreDNS of ${cluster}`, async () => (await dns.a('kubernetes.default.svc.cluster.local')).length > 0, 60_000);
    return dns;
  }

  /** A records of a name, sorted; [] when the name does not exist or has none. */
  async a(name: string): Promise<string[]> {
    return (await orNone(this.resolver.resolve4(name))).sort();
  }

  /** AAAA records of a name, sorted; [] when the name does not exist or has none. */
  async aaaa(name: string): Promise<string[]> {
    return (await orNone(this.resolver.resolve6(name))).sort();
  }

  async srv(name: string): Promise<{ name: string; port: number }[]> {
    return (await orNone(this.resolver.resolveSrv(name)))
      .map((r) => ({ name: r.name, port: r.port }))
      .sort((x, y) => x.name.localeCompare(y.name));
  }
}

/** The answers, or none when the name does not exist or has no record of the type asked. */
async function orNone<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw err;
  }
}
