import { describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../domain/k8s-types.js';
import { linkInfo } from '../domain/links.js';
import type { EventRecorder } from '../observability/events.js';
import { createLogger } from '../observability/logger.js';
import { DirectMembers } from './direct-members.js';
import { kubeconfigOf } from '../cluster/credentials.js';
import { RemoteDiscovery } from './remote-discovery.js';

const secret = (kubeconfig: string): KubeObject & { data: Record<string, string> } => ({
  metadata: { name: 'cluster-credentials-north', namespace: 'linkerd-multicluster', resourceVersion: '7' },
  data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
});

const KUBECONFIG = [
  'apiVersion: v1',
  'kind: Config',
  'clusters: [{name: north, cluster: {server: "https://127.0.0.1:6443"}}]',
  'users: [{name: r, user: {token: s3cr3t-t0ken}}]',
  'contexts: [{name: north, context: {cluster: north, user: r}}]',
  'current-context: north',
].join('\n');

describe("a Link's credentials Secret", () => {
  it('reads a kubeconfig as linkerd multicluster link writes it', () => {
    const kc = kubeconfigOf(secret(KUBECONFIG), 'linkerd-multicluster/cluster-credentials-north');
    expect(typeof kc).not.toBe('string');
  });

  it("says what is wrong by the Secret's name and the YAML line, never quoting it", () => {
    const ref = 'linkerd-multicluster/cluster-credentials-north';
    expect(kubeconfigOf(undefined, ref)).toBe(`Secret ${ref} not found`);
    expect(kubeconfigOf({ metadata: {}, data: {} } as KubeObject & { data: Record<string, string> }, ref)).toBe(
      `Secret ${ref} has no key "kubeconfig"`,
    );
    const garbled = kubeconfigOf(secret('users:\n- name: r\n  user: {token: s3cr3t-t0ken\n'), ref);
    expect(garbled).toMatch(
      /^Secret linkerd-multicluster\/cluster-credentials-north holds no kubeconfig under "kubeconfig" \(not YAML at line \d+\)$/,
    );
    expect(kubeconfigOf(secret('apiVersion: v1\nkind: Config\n'), ref)).toMatch(/names no current cluster/);
  });
});

describe('remote discovery over the Links', () => {
  const link = linkInfo({
    metadata: { name: 'north', namespace: 'linkerd-multicluster' },
    spec: {
      targetClusterName: 'north',
      clusterCredentialsSecret: 'cluster-credentials-north',
      remoteDiscoverySelector: { matchLabels: { 'mirror.linkerd.io/exported': 'remote-discovery' } },
    },
  })!;

  const setup = (get: (namespace: string, name: string) => Promise<KubeObject | undefined>) => {
    const record = vi.fn();
    const changed = vi.fn();
    const ready = vi.fn();
    const direct = new DirectMembers();
    const rd = new RemoteDiscovery(
      {
        local: { get: ((_t: unknown, ns: string, name: string) => get(ns, name)) as never },
        direct,
        changed,
        recorder: { record } as unknown as EventRecorder,
        log: createLogger('fatal'),
        onLifecycle: () => {},
      },
      { staleAfterMs: 60_000, credentialsCheckMs: 3_600_000, firstSyncTimeoutMs: 3_600_000 },
      ready,
    );
    return { rd, record, changed, ready, direct };
  };

  it('is ready at once when Links cannot be read, or none asks for remote discovery', () => {
    const a = setup(async () => undefined);
    a.rd.update(undefined);
    expect(a.ready).toHaveBeenCalledTimes(1);
    const b = setup(async () => undefined);
    b.rd.update([linkInfo({ metadata: { name: 'east', namespace: 'linkerd-multicluster' }, spec: { targetClusterName: 'east' } })!]);
    expect(b.ready).toHaveBeenCalledTimes(1);
    expect(b.direct.clusterNames()).toEqual([]);
  });

  it('tells a missing Secret on the Link, and does not hold the first sync for it', async () => {
    const { rd, record, ready, direct } = setup(async () => undefined);
    rd.update([link]);
    expect(direct.clusterNames()).toEqual(['north']);
    await vi.waitFor(() => expect(ready).toHaveBeenCalledTimes(1));
    expect(record).toHaveBeenCalledWith(
      { kind: 'Link', apiVersion: 'multicluster.linkerd.io/v1alpha3', namespace: 'linkerd-multicluster', name: 'north' },
      'Warning',
      'RemoteCredentialsMissing',
      'Secret linkerd-multicluster/cluster-credentials-north not found: the Services of cluster north are not read directly (remote discovery) until it is fixed',
    );
    // The Link gone: the cluster is forgotten.
    rd.update([]);
    expect(direct.clusterNames()).toEqual([]);
    rd.stop();
  });
});
