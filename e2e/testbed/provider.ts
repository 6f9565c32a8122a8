import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './binaries.js';

/**
 * Where the test bed's clusters come from: `local` (default) — upstream binaries started by
 * kwokctl on 127.0.0.1, pods on kwok's fake nodes; `kind` — kind-style nodes in Docker containers
 * through testcontainers (hack/kind: systemd, containerd and a kubelet, kubeadm-initialised), whose
 * pods are real processes. Chosen by E2E_PROVIDER.
 */
export type Provider = 'local' | 'kind';

export function e2eProvider(env: NodeJS.ProcessEnv = process.env): Provider {
  const value = env.E2E_PROVIDER ?? 'local';
  if (value !== 'local' && value !== 'kind') throw new Error(`E2E_PROVIDER must be "local" or "kind", not "${value}"`);
  return value;
}

// testcontainers' reaper (Ryuk) is an image from a registry, and none can be pulled here: the bed
// removes its own containers and network (TestBed.cleanLeftovers, killNow).
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/**
 * Makes `provider` ready to run: for `kind`, a Docker engine (hack/kind/dockerd.sh starts Debian's
 * dockerd when it is installed and none runs), the node image (hack/kind/build-images.sh builds
 * it, or loads it from the cache) and globalsvc's own image from the Dockerfile
 * (hack/kind/build-product-image.sh: the working tree as it is now). Returns both images, or why
 * the provider cannot run here.
 */
export function prepare(provider: Provider, log: (line: string) => void): { image?: string; productImage?: string; unavailable?: string } {
  if (provider === 'local') return {};
  const hack = join(repoRoot, 'hack/kind');
  try {
    execFileSync('bash', [join(hack, 'dockerd.sh'), 'start'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    return { unavailable: `no Docker engine runs here and none could be started: ${stderrOf(err)}` };
  }
  const started = Date.now();
  try {
    const out = execFileSync('bash', [join(hack, 'build-images.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const image = out.trim().split('\n').pop()!;
    log(`e2e: node image ${image} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const productStarted = Date.now();
    try {
      const productOut = execFileSync('bash', [join(hack, 'build-product-image.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const productImage = productOut.trim().split('\n').pop()!;
      log(`e2e: globalsvc's image ${productImage} built in ${((Date.now() - productStarted) / 1000).toFixed(1)} s`);
      return { image, productImage };
    } catch (err) {
      return { unavailable: `globalsvc's image could not be built from the Dockerfile: ${stderrOf(err)}` };
    }
  } catch (err) {
    return { unavailable: `the kind-style node image could not be built: ${stderrOf(err)}` };
  }
}

/** Stops what prepare() started (the Docker engine, when it started one). */
export function release(provider: Provider): void {
  if (provider === 'kind') execFileSync('bash', [join(repoRoot, 'hack/kind/dockerd.sh'), 'stop'], { stdio: 'ignore' });
}

function stderrOf(err: unknown): string {
  const stderr = (err as { stderr?: Buffer | string }).stderr;
  return (stderr ? String(stderr).trim().split('\n').slice(-3).join(' / ') : '') || (err as Error).message;
}
