import type { BenchBed } from './bed.js';
import { createMembers } from './fixtures.js';

const prepared = new Set<string>();

/** Writes a namespace's members once per run, whichever measurement needs them first. */
export async function ensureMembers(bed: BenchBed, namespace: string, globals: number, perMember: number, log: (l: string) => void) {
  if (prepared.has(namespace)) return;
  const started = Date.now();
  await createMembers(bed.cluster.admin, namespace, globals, perMember);
  prepared.add(namespace);
  log(`${namespace}: members of ${globals} globals written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
