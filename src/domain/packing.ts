import type { Endpoint, EndpointSlice } from './k8s-types.js';
import { endpointFingerprint, endpointKey } from './endpoints.js';
import { compareStrings } from '../shared.js';

/** One run of slices to lay out: the desired endpoints of a group and the slices it has now. */
export interface PackingInput {
  /** endpointKey → endpoint, as the global should publish it. */
  desired: ReadonlyMap<string, Endpoint>;
  /** Our existing slices of this group, each already known to hold the group's ports and type. */
  existing: readonly EndpointSlice[];
  /** Existing slices whose metadata (labels, owner) must be rewritten whatever their endpoints. */
  stale: ReadonlySet<string>;
  maxPerSlice: number;
}

export interface SliceLayout {
  /** Name of the existing slice, or undefined for a slice to create. */
  name: string | undefined;
  endpoints: Endpoint[];
}

export interface PackingResult {
  /** Existing slices to rewrite, with their new endpoints. */
  updates: SliceLayout[];
  /** New slices to create. */
  creates: SliceLayout[];
  /** Existing slices to delete. */
  deletes: string[];
}

const byKey = (a: Endpoint, b: Endpoint) => {
  const ka = endpointKey(a);
  const kb = endpointKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

function sameEndpoints(current: readonly Endpoint[] | null | undefined, next: readonly Endpoint[]): boolean {
  const have = current ?? [];
  if (have.length !== next.length) return false;
  const sorted = [...have].sort(byKey);
  return sorted.every((e, i) => endpointFingerprint(e) === endpointFingerprint(next[i]!));
}

interface Working {
  name: string;
  endpoints: Endpoint[];
  changed: boolean;
}

/**
 * Lays a group's endpoints out over slices with as few writes as possible, after
 * kube-controller-manager's EndpointSlice reconciler: endpoints stay in the slice that has them and
 * are updated in place; new endpoints first fill slices that are being rewritten anyway, then one
 * slice with room takes a last partial batch rather than a new slice being created; emptied slices
 * are reused for new ones before any is deleted; nothing is rebalanced for its own sake.
 * A slice that changes neither endpoints nor metadata is not written.
 */
export function packSlices(input: PackingInput): PackingResult {
  const { desired, maxPerSlice } = input;
  const placed = new Set<string>();
  const slices: Working[] = [...input.existing]
    .sort((a, b) => compareStrings(a.metadata.name ?? '', b.metadata.name ?? ''))
    .map((slice) => {
      const name = slice.metadata.name ?? '';
      const kept: Endpoint[] = [];
      for (const endpoint of slice.endpoints ?? []) {
        const key = endpointKey(endpoint);
        const wanted = desired.get(key);
        // A slice over the limit (someone else wrote it) gives back what does not fit.
        if (wanted && !placed.has(key) && kept.length < maxPerSlice) {
          kept.push(wanted);
          placed.add(key);
        }
      }
      kept.sort(byKey);
      return { name, endpoints: kept, changed: input.stale.has(name) || !sameEndpoints(slice.endpoints, kept) };
    });

  const remaining = [...desired.entries()]
    .filter(([key]) => !placed.has(key))
    .map(([, e]) => e)
    .sort(byKey);
  const take = (n: number) => remaining.splice(0, Math.max(0, n));

  // 1. Slices being rewritten anyway take new endpoints first: they cost no extra write.
  for (const slice of slices) {
    if (remaining.length === 0) break;
    if (slice.changed && slice.endpoints.length > 0) slice.endpoints.push(...take(maxPerSlice - slice.endpoints.length));
  }

  // 2. A last partial batch goes into an unchanged slice with room (best fit): one update
  //    instead of a create.
  const batches: Endpoint[][] = [];
  while (remaining.length > 0) batches.push(take(maxPerSlice));
  const last = batches.at(-1);
  if (last && last.length < maxPerSlice) {
    const fit = slices
      .filter((s) => !s.changed && s.endpoints.length > 0 && maxPerSlice - s.endpoints.length >= last.length)
      .sort((a, b) => b.endpoints.length - a.endpoints.length)[0];
    if (fit) {
      fit.endpoints.push(...last);
      fit.changed = true;
      batches.pop();
    }
  }

  // 3. Emptied slices are reused for the remaining batches (an update instead of a delete and a
  //    create); what is still empty is deleted.
  const updates: SliceLayout[] = [];
  const deletes: string[] = [];
  for (const slice of slices) {
    if (slice.endpoints.length === 0) {
      const batch = batches.shift();
      if (batch) updates.push({ name: slice.name, endpoints: batch.sort(byKey) });
      else deletes.push(slice.name);
    } else if (slice.changed) {
      updates.push({ name: slice.name, endpoints: slice.endpoints.sort(byKey) });
    }
  }
  const creates = batches.map((batch) => ({ name: undefined, endpoints: batch.sort(byKey) }));
  return { updates, creates, deletes };
}
