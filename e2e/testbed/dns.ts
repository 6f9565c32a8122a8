import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessGroup } from './processes.js';
import { waitFor } from './processes.js';

/**
 * A CoreDNS answering cluster.local for one cluster from its API server, on a loopback port, and
 * KEP-1645's clusterset.local from its ServiceImports (the kubernetes plugin's `multicluster`: the
 * cluster needs the MCS CRDs, links.ts installMcsCrds).
 */
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
      [
        `cluster.local:${port} clusterset.local:${port} {`,
        '    bind 127.0.0.1',
        '    errors',
        '    kubernetes cluster.local clusterset.local {',
        `        kubeconfig ${kubeconfig}`,
        '        ttl 0',
        '        multicluster clusterset.local',
        '    }',
        '}',
        '',
      ].join('\n'),
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

  /**
   * The record types of the answer section of an A query, as CoreDNS sends it (Node's resolver
   * hides a CNAME among A records): e.g. ["A", "A"], or ["A", "CNAME"] for an invalid answer.
   */
  async answerTypesOfA(name: string): Promise<string[]> {
    const socket = createSocket('udp4');
    try {
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no DNS answer for ${name} within 2 s`)), 2_000);
        socket.once('message', (msg) => {
          clearTimeout(timer);
          resolve(msg);
        });
        socket.once('error', reject);
        socket.send(dnsQuery(name, 1), this.port, '127.0.0.1');
      });
      return answerTypes(answer);
    } finally {
      socket.close();
    }
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

const RR_TYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 28: 'AAAA', 33: 'SRV' };

/** A DNS query (RFC 1035 4.1): header with recursion desired, one question of class IN. */
function dnsQuery(name: string, type: number): Buffer {
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const labels = name
    .split('.')
    .filter(Boolean)
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
}

/** Skips a possibly compressed name (RFC 1035 4.1.4) and returns the offset after it. */
function skipName(msg: Buffer, offset: number): number {
  for (;;) {
    const length = msg[offset]!;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2;
    offset += length + 1;
  }
}

function answerTypes(msg: Buffer): string[] {
  const questions = msg.readUInt16BE(4);
  const answers = msg.readUInt16BE(6);
  let offset = 12;
  for (let i = 0; i < questions; i++) offset = skipName(msg, offset) + 4;
  const types: string[] = [];
  for (let i = 0; i < answers; i++) {
    offset = skipName(msg, offset);
    const type = msg.readUInt16BE(offset);
    const length = msg.readUInt16BE(offset + 8);
    types.push(RR_TYPES[type] ?? String(type));
    offset += 10 + length;
  }
  return types.sort();
}
