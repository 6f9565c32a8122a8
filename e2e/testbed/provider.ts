import { getContainerRuntimeClient } from 'testcontainers';

/**
 * Where the test bed's clusters come from: `local` (default) — upstream binaries started by
 * kwokctl on 127.0.0.1; `docker` — k3s clusters in containers through testcontainers, for
 * machines with a Docker engine. Chosen by E2E_PROVIDER.
 */
export type Provider = 'local' | 'docker';

export function e2eProvider(env: NodeJS.ProcessEnv = process.env): Provider {
  const value = env.E2E_PROVIDER ?? 'local';
  if (value !== 'local' && value !== 'docker') throw new Error(`E2E_PROVIDER must be "local" or "docker", not "${value}"`);
  return value;
}

/** Why `provider` cannot run here, or undefined when it can. */
export async function unavailable(provider: Provider): Promise<string | undefined> {
  if (provider === 'local') return undefined;
  try {
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return `no Docker engine is reachable (testcontainers: ${(err as Error).message})`;
  }
}
