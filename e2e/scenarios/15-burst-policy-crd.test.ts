import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decide } from '../../src/burst/decide.js';
import { policyWrite } from '../../src/burst/executor.js';
import { Leadership } from '../../src/cluster/leadership.js';
import { ObjectWriter } from '../../src/engine/writer.js';
import { parseBurstPolicy } from '../../src/burst/policy.js';
import { statusOf, type BurstPolicyStatus } from '../../src/burst/status.js';
import { BURST_POLICIES, KubeApi, KubeApiError } from '../../src/cluster/kube-api.js';
import type { KubeObject } from '../../src/domain/k8s-types.js';
import { fullSpec, minimalSpec as minimal } from '../../src/test-support/burst-policies.js';
import { namespaceEverywhere } from '../support/workloads.js';
import { describeOnBed, testBed } from '../support/bed.js';
import { repoRoot } from '../testbed/binaries.js';
import { CRDS, NAMESPACES } from '../testbed/kube.js';
import { waitFor } from '../testbed/processes.js';
import type { Cluster } from '../testbed/cluster.js';
import type { TestBed } from '../testbed/testbed.js';

const run = promisify(execFile);
const NS = 'burst-crd';
const CRD = parse(readFileSync(join(repoRoot, 'manifests/crds/globalsvc.dev_burstpolicies.yaml'), 'utf8')) as KubeObject;

type BurstPolicyObject = KubeObject & { spec: Record<string, unknown>; status?: BurstPolicyStatus };
const burstPolicy = (name: string, spec: Record<string, unknown>): BurstPolicyObject => ({
  apiVersion: 'globalsvc.dev/v1alpha1',
  kind: 'BurstPolicy',
  metadata: { name, namespace: NS },
  spec,
});

describeOnBed('the BurstPolicy CRD on a real API server', () => {
  let bed: TestBed;
  let west: Cluster;

  beforeAll(async () => {
    bed = await testBed();
    await namespaceEverywhere(bed, NS);
    west = bed.cluster('west');
    await west.admin.apply(CRD, CRDS);
    await waitFor('the BurstPolicy CRD established in west', async () => {
      const crd = await west.admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        CRDS,
        undefined,
        'burstpolicies.globalsvc.dev',
      );
      return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
    await west.admin.ensureNamespace(NS);
    await waitFor('BurstPolicies listable', () => west.admin.list(BURST_POLICIES, NS).then(() => true));
  });

  afterAll(async () => {
    await west.admin.delete(NAMESPACES, undefined, NS);
    await west.admin.delete(CRDS, undefined, 'burstpolicies.globalsvc.dev');
  });

  /** The API server's answer to creating a policy: the stored object, or its refusal. */
  async function create(name: string, spec: Record<string, unknown>): Promise<BurstPolicyObject | KubeApiError> {
    try {
      return await west.admin.create(burstPolicy(name, spec), BURST_POLICIES);
    } catch (err) {
      if (err instanceof KubeApiError) return err;
      throw err;
    }
  }

  it('accepts a minimal policy, fills in the defaults, and the controller reads what it stored', async () => {
    const stored = await create('minimal', minimal);
    expect(stored).not.toBeInstanceOf(KubeApiError);
    expect((stored as BurstPolicyObject).spec).toEqual({
      target: { kind: 'Deployment', name: 'web' },
      metric: { type: 'RequestsPerSecond', window: '1m', interval: '15s' },
      burstValue: 100,
      reconcileValue: 60,
      throttleDelay: '2m',
      peers: ['east'],
      replicate: { services: true, configMaps: true },
      weights: { mode: 'ReadyReplicas' },
      traffic: { api: 'HTTPRoute' },
      readinessDeadline: '60s',
      cooldown: '5m',
    });
    expect(parseBurstPolicy(stored as BurstPolicyObject, 'west')).toMatchObject({
      namespace: NS,
      name: 'minimal',
      generation: 1,
      throttleDelayMs: 120_000,
    });
  });

  it('refuses replicate.secrets, which globalsvc does not do, as kubectl applies it', async () => {
    const file = join(bed.dir, 'secrets-policy.yaml');
    writeFileSync(file, JSON.stringify(burstPolicy('secrets', { ...minimal, replicate: { secrets: true } })));
    const refused = await run(bed.binaries.kubectl, ['--kubeconfig', west.kubeconfig, 'apply', '-f', file]).then(
      () => '(applied)',
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/unknown field "spec.replicate.secrets"/);
  });

  it('accepts a full policy: a selector, a PromQL template, fixed 75/25 weights, fractional thresholds', async () => {
    const stored = await create('full', fullSpec);
    expect(stored).not.toBeInstanceOf(KubeApiError);
    expect((stored as BurstPolicyObject).spec).toEqual(fullSpec);
    expect(parseBurstPolicy(stored as BurstPolicyObject, 'west').weights).toEqual({ mode: 'Fixed', local: 75, peers: 25 });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'reconcileValue equal to burstValue',
      { reconcileValue: 100 },
      /spec\.reconcileValue: Invalid value: .*reconcileValue must be less than burstValue/,
    ],
    ['reconcileValue above burstValue', { burstValue: 50.5, reconcileValue: 60 }, /spec\.reconcileValue: .*must be less than burstValue/],
    [
      'fixed weights not summing to 100',
      { weights: { mode: 'Fixed', local: 70, peers: 20 } },
      /spec\.weights: .*local and peers weights must sum to 100/,
    ],
    [
      'fixed weights without the peers’ share',
      { weights: { mode: 'Fixed', local: 75 } },
      /spec\.weights: .*Fixed weights need both local and peers/,
    ],
    [
      'weights with ReadyReplicas',
      { weights: { mode: 'ReadyReplicas', local: 50, peers: 50 } },
      /local and peers weights are only for mode Fixed/,
    ],
    [
      'a weight out of range',
      { weights: { mode: 'Fixed', local: 100, peers: 0 } },
      /spec\.weights\.local: Invalid value: 100: .*less than or equal to 99/,
    ],
    [
      'both a target name and a selector',
      { target: { name: 'web', selector: { matchLabels: { a: 'b' } } } },
      /exactly one of target\.name and target\.selector/,
    ],
    ['no target name nor selector', { target: {} }, /exactly one of target\.name and target\.selector/],
    ['an empty selector', { target: { selector: { matchLabels: {} } } }, /an empty selector would select every Deployment/],
    [
      'a StatefulSet target (not yet)',
      { target: { kind: 'StatefulSet', name: 'db' } },
      /spec\.target\.kind: Unsupported value: "StatefulSet"/,
    ],
    ['PromQL without a query', { metric: { type: 'PromQL' } }, /metric\.query is required with type PromQL/],
    ['no peer', { peers: [] }, /spec\.peers: Invalid value: .*should have at least 1 items/],
    ['a peer twice', { peers: ['east', 'east'] }, /spec\.peers\[1\]: Duplicate value: "east"/],
    ['a bad duration', { throttleDelay: '2 minutes' }, /spec\.throttleDelay: Invalid value: "2 minutes"/],
    ['a readiness deadline of 0', { readinessDeadline: '0s' }, /spec\.readinessDeadline: Invalid value: "0s"/],
    ['a zero burstValue', { burstValue: 0, reconcileValue: 0 }, /spec\.burstValue: Invalid value: 0: .*greater than 0/],
  ])('rejects %s, naming the field', async (_, change, message) => {
    const answer = await create('invalid', { ...minimal, ...change });
    expect(answer).toBeInstanceOf(KubeApiError);
    expect((answer as KubeApiError).status).toBe(422);
    expect((answer as KubeApiError).message).toMatch(message);
  });

  it('keeps status apart from spec: the controller’s status goes through the status subresource, and a bad phase is refused', async () => {
    const created = await west.admin.create(
      { ...burstPolicy('with-status', minimal), status: { phase: 'Burst' } } as BurstPolicyObject,
      BURST_POLICIES,
    );
    expect(created.status).toBeUndefined();

    const policy = parseBurstPolicy(created, 'west');
    const now = Date.now();
    const first = decide(undefined, { metric: { ok: true, value: 150 }, replica: 'Absent' }, now, policy);
    const second = decide(
      first.state,
      { metric: { ok: false, reason: 'NoData', message: 'the query returned no series' }, replica: 'Absent' },
      now + 15_000,
      policy,
    );
    const status = statusOf(second, { replicated: [{ cluster: 'east', kind: 'Deployment', namespace: NS, name: 'web' }] }, now + 15_000);
    const path = `${KubeApi.collectionPath(BURST_POLICIES, NS)}/with-status/status`;
    const apply = (body: unknown) =>
      west.admin.api.request<BurstPolicyObject>('apply', BURST_POLICIES, 'PATCH', path, {
        body: { apiVersion: 'globalsvc.dev/v1alpha1', kind: 'BurstPolicy', metadata: { name: 'with-status', namespace: NS }, status: body },
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'globalsvc', force: true },
      });
    const written = await apply(status);
    // Nothing pruned, nothing refused: the CRD's status schema holds what the controller writes.
    expect(written.status).toEqual(JSON.parse(JSON.stringify(status)));
    expect(written.status!.conditions.find((c) => c.type === 'MetricAvailable')).toMatchObject({ status: 'False', reason: 'NoData' });

    await expect(apply({ ...status, phase: 'Exploded' })).rejects.toThrowError(/status\.phase: Unsupported value: "Exploded"/);
  });

  it('prints Phase, Metric, Burst, Reconcile, Peer and Age in kubectl get', async () => {
    const { stdout } = await run(bed.binaries.kubectl, ['--kubeconfig', west.kubeconfig, 'get', 'burstpolicies', '-n', NS, 'with-status']);
    const [header, row] = stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'PHASE', 'METRIC', 'BURST', 'RECONCILE', 'PEER', 'AGE']);
    expect(row!.slice(0, 6)).toEqual(['with-status', 'Idle', '150', '100', '60', '["east"]']);
  });

  it('lets the controller’s ServiceAccount list and watch policies, patch their status, and (with bursting’s RBAC) their finalizer; nothing more', async () => {
    const kubeconfig = bed.product.instance('west').kubeconfig;
    const can = async (...args: string[]) =>
      (
        await run(bed.binaries.kubectl, ['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args]).then(
          (r) => r.stdout,
          (e: { stdout: string }) => e.stdout,
        )
      ).trim();
    for (const verb of ['list', 'watch']) expect(await can(verb, 'burstpolicies.globalsvc.dev', '--all-namespaces'), verb).toBe('yes');
    expect(await can('patch', 'burstpolicies.globalsvc.dev', '--subresource=status', '-n', NS)).toBe('yes');
    // manifests/burst, which the test bed applies, adds patch of the policy itself: its finalizer.
    expect(await can('patch', 'burstpolicies.globalsvc.dev', '-n', NS)).toBe('yes');
    for (const verb of ['get', 'create', 'update', 'delete'])
      expect(await can(verb, 'burstpolicies.globalsvc.dev', '-n', NS), verb).toBe('no');
  });

  it('never brings back a deleted policy: the finalizer and status writes name its uid, which the API server holds them to', async () => {
    // Credentials that may create policies (the controller's may not, which only turned the mistake into a 403).
    const writer = new ObjectWriter(new Leadership(true));
    const created = await west.admin.create(burstPolicy('short-lived', minimal), BURST_POLICIES);
    await west.admin.delete(BURST_POLICIES, NS, 'short-lived');
    await waitFor('short-lived gone', async () => (await west.admin.get(BURST_POLICIES, NS, 'short-lived')) === undefined);
    // The last pass of a deletion, planned from a cache that has not seen it yet.
    const now = Date.now();
    const idle = decide(undefined, { metric: { ok: true, value: 0 }, replica: 'Absent' }, now, parseBurstPolicy(created, 'west'));
    for (const w of [
      { op: 'finalizer', on: false },
      { op: 'status', status: statusOf(idle, { replicated: [] }, now) },
    ] as const) {
      const err = await writer.write(west.admin.api, policyWrite(created, w), w.op).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, w.op).toBeInstanceOf(KubeApiError);
      expect(await west.admin.get(BURST_POLICIES, NS, 'short-lived'), w.op).toBeUndefined();
    }
    // A policy made again by the same name is not written by what was planned for the old one.
    const again = await west.admin.create(burstPolicy('short-lived', minimal), BURST_POLICIES);
    const err = await writer.write(west.admin.api, policyWrite(created, { op: 'finalizer', on: true }), 'finalizer on').then(
      () => undefined,
      (e: unknown) => e,
    );
    // Refused as a change of an immutable field (422), the object left as it was.
    expect(err).toBeInstanceOf(KubeApiError);
    expect(String(err)).toMatch(/metadata\.uid/);
    expect((await west.admin.get<BurstPolicyObject>(BURST_POLICIES, NS, 'short-lived'))?.metadata).toMatchObject({
      uid: again.metadata.uid,
      resourceVersion: again.metadata.resourceVersion,
    });
  });
});
