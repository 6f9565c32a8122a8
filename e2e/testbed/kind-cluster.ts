import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { parse, stringify } from 'yaml';
import type { Cluster, ClusterSpec } from './cluster.js';
import { Admin } from './kube.js';
import { waitFor } from './processes.js';

/**
 * Every capability Docker 20.10 knows but CAP_SYS_RESOURCE, which this machine's sandbox lacks (so
 * `--privileged` is refused: "unable to apply caps: operation not permitted"). Docker 20.10 does not
 * know CAP_BPF, CAP_PERFMON or CAP_CHECKPOINT_RESTORE ("invalid CapAdd: unknown capability").
 */
export const NODE_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE',
  'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
]; // prettier-ignore

const run = promisify(execFile);

/** Debian's busybox-static (sh, nslookup, nc, httpd), preloaded in every node (hack/kind/build-images.sh). */
export const KIND_WORKLOAD_IMAGE = 'globalsvc.local/workload:1';

/** kubectl on the node, as its admin. */
const KUBECTL = 'kubectl --kubeconfig=/etc/kubernetes/admin.conf';

/** The service range of every kind-style cluster (kubeadm's default); pod ranges differ per cluster. */
const SERVICE_CIDR = '10.96.0.0/16';

/**
 * A container set up as kind sets up a node, with what testcontainers' builder does not offer:
 * the API server's port published on loopback only, /dev/kmsg (the kubelet opens it), a private
 * cgroup namespace (so that the node's cgroup mounts are its own subtree), and /proc unmasked.
 */
class NodeContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.withExposedPorts(6443);
    this.hostConfig.PortBindings = { '6443/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }] };
    Object.assign(this.hostConfig, {
      Devices: [{ PathOnHost: '/dev/kmsg', PathInContainer: '/dev/kmsg', CgroupPermissions: 'rwm' }],
      CgroupnsMode: 'private',
      // The CLI's --security-opt systempaths=unconfined: /proc/sys writable (kube-proxy and the
      // kubelet set the node's own network sysctls; the host-wide ones are covered, entrypoint.sh).
      MaskedPaths: [],
      ReadonlyPaths: [],
    });
  }
}

interface KubeconfigFile {
  clusters: { cluster: Record<string, string> }[];
}

/**
 * One single-node Kubernetes cluster in a kind-style container (hack/kind/build-images.sh): systemd,
 * containerd and a kubelet inside, initialised by kubeadm, so its pods are real processes in real
 * network namespaces. Its API server is reached on a loopback port; the node sits on the bed's own
 * Docker network.
 */
export class KindCluster implements Cluster {
  readonly admin: Admin;

  private constructor(
    readonly spec: ClusterSpec,
    readonly kubeconfig: string,
    readonly server: string,
    readonly container: StartedTestContainer,
    private readonly network: string,
  ) {
    this.admin = new Admin(kubeconfig);
  }

  get name(): string {
    return this.spec.name;
  }

  /** The node's address on the bed's Docker network. */
  get nodeAddress(): string {
    return this.container.getIpAddress(this.network);
  }

  /** The API server on the node's address (kubeadm puts it in the serving certificate). */
  get peerServer(): string {
    return `https://${this.nodeAddress}:6443`;
  }

  /** The node's container, e.g. to pipe an image into its containerd with `docker exec -i`. */
  get containerId(): string {
    return this.container.getId();
  }

  /** The Docker network of a test bed's nodes, and the label its nodes carry. */
  static network = (bed: string) => `globalsvc-${bed}`;
  static readonly BED_LABEL = 'globalsvc.dev/e2e-bed';

  /** Removes a test bed's node containers and network (no reaper runs here), when Docker answers. */
  static removeAll(bed: string): void {
    try {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=${KindCluster.BED_LABEL}=${bed}`], { encoding: 'utf8' });
      const list = ids.split('\n').filter(Boolean);
      if (list.length > 0) execFileSync('docker', ['rm', '-f', ...list], { stdio: 'ignore' });
      execFileSync('docker', ['network', 'rm', KindCluster.network(bed)], { stdio: 'ignore' });
    } catch {
      // no Docker here, or nothing to remove
    }
  }

  /** Creates the bed's Docker network (a bridge of our own: nodes reach each other, nothing else). */
  static createNetwork(bed: string): string {
    const name = KindCluster.network(bed);
    execFileSync('docker', ['network', 'create', '--label', `${KindCluster.BED_LABEL}=${bed}`, name], { stdio: 'ignore' });
    return name;
  }

  static async create(spec: ClusterSpec, dir: string, image: string, bed: string): Promise<KindCluster> {
    const hostname = `${spec.name}-control-plane`;
    const network = KindCluster.network(bed);
    const container = await new NodeContainer(image)
      .withName(`globalsvc-${bed}-${spec.name}`)
      .withHostname(hostname)
      .withLabels({ [KindCluster.BED_LABEL]: bed, 'globalsvc.dev/e2e-cluster': spec.name })
      .withNetworkMode(network)
      .withAddedCapabilities(...NODE_CAPABILITIES)
      .withSecurityOpt('seccomp=unconfined', 'apparmor=unconfined')
      .withTmpFs({ '/run': 'rw', '/tmp': 'rw' })
      .withBindMounts([{ source: '/lib/modules', target: '/lib/modules', mode: 'ro' }])
      .withEnvironment({ POD_CIDR: spec.podCidr })
      // Up when systemd has started containerd and imported the preloaded images (the API server's
      // port answers only after kubeadm init).
      .withWaitStrategy(Wait.forSuccessfulCommand('systemctl is-active kind-images.service'))
      .withStartupTimeout(120_000)
      .start();
    const exec = (what: string, cmd: string[]) => execOn(container, spec.name, what, cmd);

    const versions = {
      kubernetes: (await exec('kubeadm version', ['kubeadm', 'version', '-o', 'short'])).trim(),
      etcd: await imageTag(container, 'etcd'),
      coredns: await imageTag(container, 'coredns'),
    };
    await container.copyContentToContainer([
      {
        content: kubeadmConfig(spec, hostname, versions)
          .map((d) => stringify(d))
          .join('---\n'),
        target: '/kind/kubeadm.yaml',
      },
      { content: stringify(kubeProxyConfig(spec)), target: '/etc/kubernetes/kube-proxy.yaml' },
    ]);
    await exec('kubeadm init', ['kubeadm', 'init', '--config=/kind/kubeadm.yaml', '--ignore-preflight-errors=all', '--v=1']);
    await exec('kube-proxy', ['systemctl', 'start', 'kube-proxy.service']);
    // The node's resolv.conf names Docker's embedded DNS (127.0.0.11), which a pod cannot reach, and
    // CoreDNS's loop plugin stops it on the first forward. The bed resolves only cluster names and
    // sends nothing beyond its own containers: CoreDNS forwards nothing.
    await exec('CoreDNS without forwarding', [
      'sh',
      '-c',
      `${KUBECTL} -n kube-system get configmap coredns -o yaml | sed -e '/forward \\. \\/etc\\/resolv.conf/,/}/d' -e '/^ *loop$/d' | ${KUBECTL} replace -f - && ${KUBECTL} -n kube-system rollout restart deployment coredns`,
    ]);

    // The admin kubeconfig, pointed at the loopback port, its certificate authority as a file.
    const config = parse(await exec('cat admin.conf', ['cat', '/etc/kubernetes/admin.conf'])) as KubeconfigFile;
    const cluster = config.clusters[0]!.cluster;
    const clusterDir = join(dir, 'kind', spec.name); // not clusters/: that is kwokctl's
    mkdirSync(clusterDir, { recursive: true });
    const ca = join(clusterDir, 'ca.crt');
    writeFileSync(ca, Buffer.from(cluster['certificate-authority-data']!, 'base64'));
    delete cluster['certificate-authority-data'];
    cluster['certificate-authority'] = ca;
    const server = `https://127.0.0.1:${container.getMappedPort(6443)}`;
    cluster.server = server;
    const kubeconfig = join(clusterDir, 'kubeconfig.yaml');
    writeFileSync(kubeconfig, stringify(config));

    const started = new KindCluster(spec, kubeconfig, server, container, network);
    await waitFor(
      `${spec.name}'s node to be Ready`,
      async () => {
        const nodes = await started.admin.list<{ metadata: object; status?: { conditions?: { type: string; status: string }[] } }>({
          kind: 'Node',
          apiPath: '/api/v1',
          plural: 'nodes',
        });
        return nodes.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      },
      120_000,
      500,
    );
    return started;
  }

  /** Copies an image of the host's Docker engine into the node's containerd, where the kubelet finds it (no registry). */
  async importImage(image: string): Promise<void> {
    const script = 'docker save "$0" | docker exec -i "$1" ctr --namespace k8s.io images import -';
    await run('sh', ['-c', script, image, this.containerId], { maxBuffer: 16 * 2 ** 20 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`${this.name}: importing ${image} into the node's containerd: ${err.stderr?.trim() || err.message}`);
    });
  }

  /**
   * SIGKILLs the node's processes whose command line matches `pattern` (a grep regular expression
   * that does not match itself, e.g. `mai[n].js`), only those of pod `podUid` when given (by the
   * pod's cgroup): a crash, nothing handed over. Returns how many it killed.
   */
  async kill(pattern: string, podUid?: string): Promise<number> {
    const inPod = podUid ? `grep -q 'pod${podUid.replace(/-/g, '_')}' /proc/$p/cgroup || continue; ` : '';
    const script = `n=0; for p in $(grep -l '${pattern}' /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do ${inPod}kill -KILL $p && n=$((n+1)); done; echo $n`;
    return Number((await this.exec(['sh', '-c', script])).trim());
  }

  /** Runs a command on the node (as `docker exec`); throws with its output when it fails. */
  exec(cmd: string[]): Promise<string> {
    return execOn(this.container, this.name, cmd.join(' '), cmd);
  }

  async delete(): Promise<void> {
    await this.container.stop({ timeout: 5_000 });
  }

  keepLogs(dir: string): void {
    // The node's journal: the kubelet's, containerd's and kube-proxy's logs (synchronous, so that it
    // is read before the node goes).
    try {
      mkdirSync(dir, { recursive: true });
      const journal = execFileSync('docker', ['exec', this.container.getId(), 'journalctl', '--no-pager', '-o', 'short-iso'], {
        maxBuffer: 256 * 2 ** 20,
      });
      writeFileSync(join(dir, `${this.name}-node.log`), journal);
    } catch {
      // the node is gone already
    }
  }
}

/** Runs `cmd` on a node; throws with the end of its output when it fails. */
async function execOn(container: StartedTestContainer, cluster: string, what: string, cmd: string[]): Promise<string> {
  const r = await container.exec(cmd);
  if (r.exitCode !== 0) throw new Error(`${cluster}: ${what} exited ${r.exitCode}:\n${r.output.slice(-4_000)}`);
  return r.output;
}

/** The tag of the preloaded globalsvc.local/<name> image (the node holds exactly one). */
async function imageTag(container: StartedTestContainer, name: string): Promise<string> {
  const r = await container.exec(['ctr', '--namespace', 'k8s.io', 'images', 'list', '--quiet', `name~=^globalsvc.local/${name}:`]);
  const ref = r.output.split('\n').find((l) => l.startsWith(`globalsvc.local/${name}:`));
  if (!ref) throw new Error(`the node has no preloaded globalsvc.local/${name} image:\n${r.output}`);
  return ref.slice(ref.indexOf(':') + 1).trim();
}

/** kubeadm's configuration of a single-node cluster made of the node image's preloaded images. */
function kubeadmConfig(spec: ClusterSpec, hostname: string, versions: { kubernetes: string; etcd: string; coredns: string }): object[] {
  return [
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      // No taint: the one node runs the workloads too.
      nodeRegistration: { name: hostname, criSocket: 'unix:///run/containerd/containerd.sock', taints: [] },
      skipPhases: ['addon/kube-proxy'],
    },
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: spec.name,
      kubernetesVersion: versions.kubernetes,
      imageRepository: 'globalsvc.local',
      controlPlaneEndpoint: `${hostname}:6443`,
      apiServer: { certSANs: ['127.0.0.1', 'localhost', hostname] },
      networking: { podSubnet: spec.podCidr, serviceSubnet: SERVICE_CIDR },
      etcd: { local: { imageTag: versions.etcd } },
      dns: { imageTag: versions.coredns },
    },
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
      failSwapOn: false,
      // The node's disk is the host's; never evict for it.
      evictionHard: { 'imagefs.available': '0%', 'nodefs.available': '0%', 'nodefs.inodesFree': '0%' },
      imageGCHighThresholdPercent: 100,
    },
  ];
}

/** kube-proxy on the node (iptables), as its admin. */
function kubeProxyConfig(spec: ClusterSpec): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: '/etc/kubernetes/admin.conf' },
    mode: 'iptables',
    clusterCIDR: spec.podCidr,
    // Writing conntrack's limits would change the host's kernel: leave them, as kind does.
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
}
