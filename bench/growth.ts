import type { ColdResult } from './cold.js';
import type { Sizes } from './main.js';

export interface GrowthResult {
  /** Globals grow at the default endpoints per member. */
  byGlobals: ColdResult[];
  /** Endpoints per member grow at a fixed number of globals. */
  byEndpoints: ColdResult[];
}

/**
 * Growth: memory and CPU of a cold start as globals and endpoints per member grow; every point is
 * a cold start (shared with the cold measurement where the sizes coincide), beside a bare informer
 * holding the same objects.
 */
export async function growth(sizes: Sizes, coldOf: (globals: number, perMember: number) => Promise<ColdResult>): Promise<GrowthResult> {
  const byGlobals: ColdResult[] = [];
  for (const g of sizes.growthGlobals) byGlobals.push(await coldOf(g, sizes.endpointsPerMember));
  const byEndpoints: ColdResult[] = [];
  for (const e of sizes.growthEndpoints) byEndpoints.push(await coldOf(sizes.growthEndpointsGlobals, e));
  return { byGlobals, byEndpoints };
}
