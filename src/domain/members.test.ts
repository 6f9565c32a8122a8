import { describe, expect, it } from 'vitest';
import { classifyLocal, classifyMirror } from './members.js';
import { localService, mirrorService } from '../test-support/builders.js';

describe('classifying Linkerd mirrors', () => {
  it('takes the original name from remote-svc-fq-name, not from the mirror name', () => {
    // A service whose own name contains the cluster name: splitting "-east" off would be wrong.
    const mirror = mirrorService({ name: 'east-orders', remoteName: 'east-orders', cluster: 'east' });
    expect(classifyMirror(mirror)).toEqual({
      kind: 'member',
      member: { key: { namespace: 'data', name: 'east-orders' }, cluster: 'east', serviceName: 'east-orders-east', origin: 'mirror' },
    });
  });

  it('ignores endpoint mirrors, federated services and plain services', () => {
    expect(
      classifyMirror(mirrorService({ name: 'db-0', cluster: 'east', labels: { 'mirror.linkerd.io/headless-mirror-svc-name': 'db-east' } }))
        .kind,
    ).toBe('ignored');
    const federated = mirrorService({ name: 'web', cluster: 'east' });
    delete federated.metadata.labels!['mirror.linkerd.io/cluster-name'];
    expect(classifyMirror(federated).kind).toBe('ignored');
    expect(classifyMirror(localService('db')).kind).toBe('ignored');
  });

  it('reports remote-discovery mirrors as unsupported, naming the cluster', () => {
    const c = classifyMirror(
      mirrorService({ name: 'web', cluster: 'east', labels: { 'multicluster.linkerd.io/remote-discovery': 'east' } }),
    );
    expect(c).toMatchObject({ kind: 'unsupported', cluster: 'east', reason: 'RemoteDiscoveryMirror', key: { name: 'web' } });
  });

  it('rejects a mirror with a missing or garbled remote name, saying which annotation', () => {
    const missing = mirrorService({ name: 'web', cluster: 'east' });
    delete missing.metadata.annotations!['mirror.linkerd.io/remote-svc-fq-name'];
    expect(classifyMirror(missing)).toMatchObject({ kind: 'rejected', reason: 'MissingRemoteName' });
    const garbled = mirrorService({
      name: 'web',
      cluster: 'east',
      annotations: { 'mirror.linkerd.io/remote-svc-fq-name': 'Web_Server..' },
    });
    expect(classifyMirror(garbled)).toMatchObject({ kind: 'rejected', reason: 'GarbledRemoteName' });
    const otherNamespace = mirrorService({
      name: 'web',
      cluster: 'east',
      annotations: { 'mirror.linkerd.io/remote-svc-fq-name': 'web.shop.svc.cluster.local' },
    });
    expect(classifyMirror(otherNamespace)).toMatchObject({ kind: 'rejected', reason: 'GarbledRemoteName' });
  });

  it('honours the opt-out label and annotation on mirrors and local services', () => {
    expect(classifyMirror(mirrorService({ name: 'db', cluster: 'east', labels: { 'globalsvc.dev/exclude': 'true' } })).kind).toBe(
      'excluded',
    );
    const local = localService('db');
    local.metadata.annotations = { 'globalsvc.dev/exclude': 'true' };
    expect(classifyLocal(local, 'west').kind).toBe('excluded');
  });

  it('makes the local service a member under this cluster name', () => {
    expect(classifyLocal(localService('db'), 'west')).toMatchObject({
      kind: 'member',
      member: { cluster: 'west', origin: 'local', serviceName: 'db' },
    });
  });
});
