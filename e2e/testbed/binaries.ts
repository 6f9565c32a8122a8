import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether this runs from e2e/ (vitest) or dist/e2e/ (the playground). */
export const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'hack'))) dir = dirname(dir);
  return dir;
})();

export interface Binaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  etcd: string;
  kwok: string;
  kwokctl: string;
  coredns: string;
  helm: string;
  serviceMirror: string;
  /** sigs.k8s.io/mcs-api's conformance suite, a `go test -c` binary (e2e 26). */
  mcsConformance: string;
}

/** Paths as hack/bin-paths.sh computes them from hack/versions.env, so the two never disagree. */
export function binaryPaths(): Binaries {
  const out = execFileSync('bash', ['-c', `source "${join(repoRoot, 'hack/bin-paths.sh')}" && env`], { encoding: 'utf8' });
  const env = Object.fromEntries(out.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const get = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`hack/bin-paths.sh does not set ${name}`);
    return value;
  };
  return {
    kubeApiserver: get('KUBE_APISERVER'),
    kubeControllerManager: get('KUBE_CONTROLLER_MANAGER'),
    kubeScheduler: get('KUBE_SCHEDULER'),
    kubectl: get('KUBECTL'),
    etcd: get('ETCD'),
    kwok: get('KWOK'),
    kwokctl: get('KWOKCTL'),
    coredns: get('COREDNS'),
    helm: get('HELM'),
    serviceMirror: get('LINKERD_SERVICE_MIRROR'),
    mcsConformance: get('MCS_CONFORMANCE_BIN'),
  };
}

/** Every binary is required, Linkerd's service mirror too (built from ../shared/vendor's linkerd2). */
export function missingBinaries(b: Binaries): string[] {
  return Object.values(b).filter((path) => !existsSync(path));
}

/** The service-mirror command of every link: Linkerd's own, built by hack/build-binaries.sh from linkerd2 at b24cd4059. */
export function serviceMirrorCommand(b: Binaries): { command: string; args: string[] } {
  if (!existsSync(b.serviceMirror))
    throw new Error(`Linkerd's service mirror ${b.serviceMirror} is missing: run hack/build-binaries.sh linkerd`);
  return { command: b.serviceMirror, args: [] };
}

/** Builds what is missing (hack/build-binaries.sh reuses the per-version cache). */
export function ensureBinaries(): Binaries {
  const b = binaryPaths();
  if (missingBinaries(b).length > 0) execFileSync('bash', [join(repoRoot, 'hack/build-binaries.sh')], { stdio: 'inherit' });
  const missing = missingBinaries(b);
  if (missing.length > 0) throw new Error(`binaries still missing after hack/build-binaries.sh: ${missing.join(', ')}`);
  return b;
}

/** Where a test bed keeps its runtime files: outside the repository, one folder per name. */
export function testbedDir(name: string): string {
  const cache = process.env.GLOBALSVC_CACHE ?? join(homedir(), '.cache/globalsvc');
  return resolve(process.env.GLOBALSVC_TESTBED_DIR ?? join(cache, 'testbeds'), name);
}
