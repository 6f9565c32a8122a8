import { execFile, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { LEASES } from '../../src/cluster/leader-election.js';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import type { Binaries } from './binaries.js';
import { repoRoot } from './binaries.js';
import { Admin } from './kube.js';
import { waitFor } from './processes.js';

const run = promisify(execFile);

export interface ClusterSpec {
  /** The cluster's name in the links (west, east, north). */
  name: string;
  /** Pods of this cluster get addresses from here, so every cluster's pod IPs differ. */
  podCidr: string;
  /** The address its Links advertise for its gateway (TEST-NET, never dialled: no probe path). */
  gatewayAddress: string;
  /** More of kwokctl's `--extra-args`, each `component=flag=value` (the bench bed's kube-controller-manager client rate). */
  extraArgs?: readonly string[];
  /** kube-controller-manager controllers of hack/kwokctl-config.yaml this cluster runs without (the bench bed's). */
  withoutControllers?: readonly string[];
}

/** A cluster of the test bed, whichever provider made it: what scenarios and the harness use. */
export interface Cluster {
  readonly spec: ClusterSpec;
  readonly name: string;
  readonly admin: Admin;
  /** An admin kubeconfig whose certificate authority is a file (`certificate-authority: <path>`). */
  readonly kubeconfig: string;
  readonly server: string;
  /**
   * The API server's address as the other clusters' components reach it (a Link's credentials, for
   * Linkerd's mirrors and for globalsvc reading a cluster directly): `server` on the local provider,
   * the node's address on the bed's Docker network on the kind provider, where a pod cannot reach
   * the host's loopback.
   */
  readonly peerServer: string;
  delete(): Promise<void>;
  /** Copies what the cluster's own components logged into `dir`, before it is deleted. */
  keepLogs(dir: string): void;
}

/**
 * One Kubernetes cluster made of upstream binaries on 127.0.0.1, created by kwokctl's binary
 * runtime from hack/kwokctl-config.yaml (etcd, kube-apiserver, the kube-controller-manager
 * controllers we rely on, kube-scheduler, and kwok making pods of fake nodes run and get ready).
 */
export class LocalCluster implements Cluster {
  readonly admin: Admin;

  private constructor(
    readonly spec: ClusterSpec,
    readonly kwokName: string,
    readonly kubeconfig: string,
    readonly server: string,
    private readonly workdir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly binaries: Binaries,
  ) {
    this.admin = new Admin(kubeconfig);
  }

  get name(): string {
    return this.spec.name;
  }

  get peerServer(): string {
    return this.server;
  }

  static kwokEnv(workdir: string): NodeJS.ProcessEnv {
    return { ...process.env, KWOK_WORKDIR: workdir };
  }

  /** hack/kwokctl-config.yaml, or a copy in `workdir` whose kube-controller-manager runs without `without`. */
  private static kwokctlConfig(workdir: string, without: readonly string[]): string {
    const config = join(repoRoot, 'hack/kwokctl-config.yaml');
    if (without.length === 0) return config;
    const doc = parseDocument(readFileSync(config, 'utf8'));
    const patches = (doc.toJS() as { componentsPatches: { name: string; extraArgs?: { key: string; value: string }[] }[] })
      .componentsPatches;
    const i = patches.findIndex((p) => p.name === 'kube-controller-manager');
    const j = patches[i]?.extraArgs?.findIndex((a) => a.key === 'controllers') ?? -1;
    if (j < 0) throw new Error(`${config}: no kube-controller-manager controllers list`);
    const controllers = patches[i]!.extraArgs![j]!.value.split(',');
    for (const name of without) if (!controllers.includes(name)) throw new Error(`${config}: ${name} is not among its controllers`);
    doc.setIn(['componentsPatches', i, 'extraArgs', j, 'value'], controllers.filter((c) => !without.includes(c)).join(','));
    const copy = join(workdir, 'kwokctl-config.yaml');
    writeFileSync(copy, doc.toString());
    return copy;
  }

  static async create(spec: ClusterSpec, kwokName: string, workdir: string, binaries: Binaries): Promise<LocalCluster> {
    const env = LocalCluster.kwokEnv(workdir);
    const config = LocalCluster.kwokctlConfig(workdir, spec.withoutControllers ?? []);
    await run(
      binaries.kwokctl,
      [
        'create',
        'cluster',
        '--name',
        kwokName,
        '--config',
        config,
        '--kubeconfig',
        '',
        '--kube-apiserver-binary',
        binaries.kubeApiserver,
        '--kube-controller-manager-binary',
        binaries.kubeControllerManager,
        '--kube-scheduler-binary',
        binaries.kubeScheduler,
        '--etcd-binary',
        binaries.etcd,
        '--kwok-controller-binary',
        binaries.kwok,
        // This cluster's pod range, so that pod IPs differ from cluster to cluster.
        '--extra-args',
        `kwok-controller=cidr=${spec.podCidr}`,
        ...(spec.extraArgs ?? []).flatMap((arg) => ['--extra-args', arg]),
        '--wait',
        '120s',
      ],
      { env, maxBuffer: 64 * 1024 * 1024 },
    );
    const kubeconfig = join(workdir, 'clusters', kwokName, 'kubeconfig.yaml');
    const server = /server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    const cluster = new LocalCluster(spec, kwokName, kubeconfig, server, workdir, env, binaries);
    await cluster.addNode(`${spec.name}-node-0`);
    return cluster;
  }

  /** A fake node kwok keeps Ready and runs pods on. */
  async addNode(name: string): Promise<void> {
    await this.admin.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
      },
      spec: { podCIDR: this.spec.podCidr },
      status: {
        allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
        capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
      },
    } as KubeObject);
    await waitFor(`node ${name} ready`, async () => {
      const node = await this.admin.get<{ metadata: object; status?: { conditions?: { type: string; status: string }[] } }>(
        { kind: 'Node', apiPath: '/api/v1', plural: 'nodes' },
        undefined,
        name,
      );
      return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    });
  }

  /** The cluster's own processes (kwokctl's pid files), e.g. to stop its kube-apiserver. */
  async kwokctl(...args: string[]): Promise<string> {
    const { stdout } = await run(this.binaries.kwokctl, ['--name', this.kwokName, ...args], { env: this.env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  }

  /**
   * After `kwokctl start cluster` (a restart of every process, kwok among them): hands the fake
   * nodes' Leases to the new kwok. kwok holds a node's Lease under an identity of its own process,
   * so a restarted kwok neither renews the old Lease (another holder's) until it expires, 200 s
   * after its last renewal, nor creates one while it exists. Nothing renews it meanwhile, and
   * kube-controller-manager, restarted too and giving each node the same 200 s from its own start,
   * marks the nodes and every pod on them NotReady at about the moment kwok takes the Lease, for
   * up to one monitor period (25 s): seen failing e2e 13 three minutes after e2e 11's restart.
   * Deleted, the stale Lease is created anew at kwok's next try (within its renew interval).
   */
  async handNodeLeasesOver(): Promise<void> {
    const stale = await this.admin.list(LEASES, 'kube-node-lease');
    for (const lease of stale) await this.admin.delete(LEASES, 'kube-node-lease', lease.metadata.name!);
    await waitFor(
      `${this.name}'s kwok holding its nodes' Leases again`,
      async () => {
        const now = await this.admin.list(LEASES, 'kube-node-lease');
        return stale.every((old) => now.some((l) => l.metadata.name === old.metadata.name && l.metadata.uid !== old.metadata.uid));
      },
      120_000,
      1_000,
    );
  }

  /**
   * Kills one of the cluster's processes (SIGKILL: a crash, not a drain) and, after `downtimeMs`,
   * starts it again with the command line it had, under kwokctl's pid file so that kwokctl still
   * stops it. kwokctl cannot do this itself: `start cluster` trusts the pid files and waits for an
   * API server that never comes.
   */
  async restartComponent(component: 'kube-apiserver' | 'etcd', downtimeMs: number): Promise<void> {
    const dir = join(this.workdir, 'clusters', this.kwokName);
    const pidFile = join(dir, 'pids', `${component}.pid`);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const [command, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${this.name}'s ${component} gone`, async () => !existsSync(`/proc/${pid}`), 10_000, 50);
    await new Promise((r) => setTimeout(r, downtimeMs));
    const log = openSync(join(dir, 'logs', `${component}.log`), 'a');
    const child = spawn(command!, args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    writeFileSync(pidFile, String(child.pid));
  }

  /** The value of `flag` on the command line of this cluster's running `component` (from its pid file). */
  private componentFlag(component: string, flag: string): string {
    const pid = Number(readFileSync(join(this.workdir, 'clusters', this.kwokName, 'pids', `${component}.pid`), 'utf8').trim());
    const value = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .find((a) => a.startsWith(`${flag}=`))
      ?.slice(flag.length + 1);
    if (value === undefined) throw new Error(`${component} (pid ${pid}) has no ${flag}`);
    return value;
  }

  /** kube-controller-manager's /metrics (allowed without credentials by kwokctl's flags), as text. */
  async controllerManagerMetrics(): Promise<string> {
    return this.metricsOf('kube-controller-manager', {});
  }

  /** kube-apiserver's /metrics, read with the admin's client certificate, as text. */
  async apiServerMetrics(): Promise<string> {
    const pki = join(this.workdir, 'clusters', this.kwokName, 'pki');
    const read = (file: string) => readFileSync(join(pki, file));
    return this.metricsOf('kube-apiserver', { ca: read('ca.crt'), cert: read('admin.crt'), key: read('admin.key') });
  }

  private metricsOf(component: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }): Promise<string> {
    const port = Number(this.componentFlag(component, '--secure-port'));
    return new Promise<string>((resolve, reject) => {
      const req = httpsGet({ host: '127.0.0.1', port, path: '/metrics', rejectUnauthorized: tls.ca !== undefined, ...tls }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${component} /metrics: ${res.statusCode}`))));
      });
      req.on('error', reject);
    });
  }

  /**
   * Compacts etcd's history up to its current revision (etcd's JSON gateway), as the API server
   * does every few minutes: a watch resumed from an older resourceVersion is then answered 410 Gone.
   */
  async compactEtcd(): Promise<number> {
    const url = this.componentFlag('etcd', '--listen-client-urls').split(',')[0]!;
    const post = async (path: string, body: object) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { header: { revision: string } };
    };
    const revision = Number((await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') })).header.revision);
    await post('/v3/kv/compaction', { revision, physical: true });
    return revision;
  }

  /** Copies the components' logs to `<dir>/<cluster>-<component>.log`, for after the cluster is deleted. */
  keepLogs(dir: string): void {
    const logs = join(this.workdir, 'clusters', this.kwokName, 'logs');
    if (!existsSync(logs)) return;
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(logs)) copyFileSync(join(logs, f), join(dir, `${this.name}-${f}`));
  }

  async delete(): Promise<void> {
    await this.kwokctl('delete', 'cluster');
  }
}
