import { createHash } from 'node:crypto';

// Kubernetes names a global Service and the per-pod DNS labels inside it must obey: an RFC 1123
// label (what Service names and EndpointSlice hostnames are validated against), 63 characters.
export const MAX_LABEL_LENGTH = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HASH_LENGTH = 8;

export function isDnsLabel(value: string): boolean {
  return value.length > 0 && value.length <= MAX_LABEL_LENGTH && DNS_LABEL.test(value);
}

/** A short, stable digest: the same input gives the same name in every cluster and every run. */
export function shortHash(value: string, length = HASH_LENGTH): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

/**
 * Makes `head + tail` fit in one DNS label. When it does not, `head` is cut and a hash of `identity`
 * (the untruncated value it stands for) is put before `tail`, so two long names that share a prefix
 * still differ and the tail (e.g. "-global") stays readable: `<head cut>-<hash8><tail>`.
 */
export function fitLabel(head: string, tail: string, identity: string): string {
  const whole = `${head}${tail}`;
  if (whole.length <= MAX_LABEL_LENGTH) return whole;
  const room = MAX_LABEL_LENGTH - tail.length - HASH_LENGTH - 1;
  const cut = head.slice(0, Math.max(0, room)).replace(/-+$/, '');
  const hashed = `${shortHash(identity)}${tail}`;
  return cut.length > 0 ? `${cut}-${hashed}` : hashed;
}

/**
 * The global Service of original service `name`: `<name><suffix>`, or, past 63 characters, the name
 * cut to fit with an 8-character hash of the original before the suffix
 * (e.g. `a-very-long-…-name-1f3a9c2e-global`).
 */
export function globalServiceName(name: string, suffix: string): string {
  return fitLabel(name, suffix, name);
}

const pairKey = (cluster: string, hostname: string) => `${cluster}/${hostname}`;

/** Lower-cases and replaces what a DNS label cannot hold, so any hostname maps to some label. */
function sanitizeLabelPart(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^-a-z0-9]/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The per-pod DNS label of an endpoint `hostname` published by `cluster`: `<hostname>-<cluster>`,
 * sanitized and cut to a valid label (with a hash of the pair) when it would not be one.
 */
export function endpointHostname(hostname: string, cluster: string): string {
  const natural = `${hostname}-${cluster}`;
  if (isDnsLabel(natural)) return natural;
  const clusterPart = sanitizeLabelPart(cluster).slice(0, 23).replace(/-+$/, '');
  const tail = clusterPart.length > 0 ? `-${clusterPart}` : '';
  return fitLabel(sanitizeLabelPart(hostname), tail, pairKey(cluster, hostname));
}

export interface HostnameAssignment {
  /** `${cluster}/${hostname}` → the label published in the global. */
  labels: Map<string, string>;
  /** Pairs whose natural `<hostname>-<cluster>` was not a valid label or collided with another pair. */
  rewritten: { cluster: string; hostname: string; label: string; why: 'invalid' | 'collision' }[];
}

/**
 * Assigns every distinct (cluster, hostname) pair of a global a distinct valid label. Pairs that
 * collide (`a-b` from cluster `c` and `a` from cluster `b-c` both give `a-b-c`) all take a hashed
 * form, so which one came first never decides who keeps the plain name.
 */
export function assignHostnames(pairs: Iterable<{ cluster: string; hostname: string }>): HostnameAssignment {
  const distinct = new Map<string, { cluster: string; hostname: string }>();
  for (const p of pairs) distinct.set(pairKey(p.cluster, p.hostname), p);

  const labels = new Map<string, string>();
  const rewritten = new Map<string, HostnameAssignment['rewritten'][number]>();
  for (const [key, p] of distinct) {
    const label = endpointHostname(p.hostname, p.cluster);
    labels.set(key, label);
    if (label !== `${p.hostname}-${p.cluster}`) rewritten.set(key, { ...p, label, why: 'invalid' });
  }
  // A hashed label can, in principle, collide again; a new salt settles it.
  for (let salt = 0, colliding = collidingKeys(labels); colliding.length > 0; salt++, colliding = collidingKeys(labels)) {
    for (const key of colliding) {
      const p = distinct.get(key)!;
      const identity = `${key}#${salt}`;
      const label = fitLabel(sanitizeLabelPart(`${p.hostname}-${p.cluster}`), `-${shortHash(identity)}`, identity);
      labels.set(key, label);
      rewritten.set(key, { ...p, label, why: 'collision' });
    }
  }
  return { labels, rewritten: [...rewritten.values()] };
}

function collidingKeys(labels: Map<string, string>): string[] {
  const byLabel = new Map<string, string[]>();
  for (const [key, label] of labels) {
    const keys = byLabel.get(label);
    if (keys) keys.push(key);
    else byLabel.set(label, [key]);
  }
  return [...byLabel.values()].filter((keys) => keys.length > 1).flat();
}
