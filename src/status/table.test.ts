import { describe, expect, it } from 'vitest';
import { planGlobal } from '../domain/plan.js';
import { localService, mirrorService, statefulSet } from '../test-support/builders.js';
import { converge, FakeNamespace } from '../test-support/simulate.js';
import { statusReport, type StatusSettings } from './report.js';
import { renderTable } from './table.js';

const settings: StatusSettings = { localCluster: 'west', globalSuffix: '-global', maxEndpointsPerSlice: 100, includeLocal: true };

describe('the status table', () => {
  it('shows each global with its members and totals, its problems, the mirrors of no global, and a summary', () => {
    // db was published with north, whose mirror has gone since; cache's name is taken; web's mirror is garbled.
    const members = [statefulSet('west', 2, 1), statefulSet('east', 3, 2)];
    const written = new FakeNamespace();
    converge(
      written,
      (w) => planGlobal(w, settings),
      { namespace: 'data', name: 'db' },
      [...members, statefulSet('north', 1, 3)],
      'db-global',
    );
    members[1]!.slices[0]!.endpoints![0]!.conditions = { ready: false }; // since the last write
    const others = [
      mirrorService({ name: 'cache', cluster: 'east' }),
      localService('cache-global'),
      mirrorService({ name: 'web', cluster: 'east', annotations: { 'mirror.linkerd.io/remote-svc-fq-name': 'Web..' } }),
    ];
    const report = statusReport(
      {
        namespaces: ['data'],
        services: [...members.map((m) => m.service), ...written.services.values(), ...others],
        slices: [...members.flatMap((m) => m.slices), ...written.slices.values()],
      },
      settings,
    );

    expect(renderTable(report)).toBe(
      `data/cache → cache-global: blocked
  CLUSTER  ORIGIN  SERVICE     STATE   ENDPOINTS  PUBLISHED
  east     mirror  cache-east  member  0/0        0/0
  total                                0/0        0/0
  ! GlobalNameTaken: Service data/cache-global exists and is not managed by globalsvc; global data/cache is not published. Rename or remove that Service to let globalsvc create it

data/db → db-global: out-of-date
  CLUSTER  ORIGIN  SERVICE  STATE   ENDPOINTS  PUBLISHED
  east     mirror  db-east  member  2/3        3/3
  north    -       -        gone    -          1/1
  west     local   db       member  2/2        2/2
  total                             4/5        6/6
  ! ClusterUnreachable: cluster east's gateway does not answer its probe: its endpoints are published not ready, so db-global answers without them until its gateway is back
  ! StaleCluster: global data/db-global still publishes 1 endpoint(s) of cluster north, which has no usable member here any more
  ! OutOfDate: 2 write(s) pending (update EndpointSlice data/db-global-east-c6e9c-0, delete EndpointSlice data/db-global-north-c6e9c-0). If this lasts, check that globalsvc runs and leads in cluster west and read its log

mirrors that belong to no global:
  ! GarbledRemoteName: mirror data/web-east has mirror.linkerd.io/remote-svc-fq-name="Web..", which is not <service>.data.svc.<domain>; it is left out of every global

cluster west, namespaces data: 2 global(s), 5 problem(s) (endpoints are ready/total)
`,
    );
  });

  it('says so when there is no global', () => {
    const report = statusReport({ namespaces: [], services: [], slices: [] }, settings);
    expect(renderTable(report)).toBe('cluster west, all namespaces: 0 global(s), 0 problem(s) (endpoints are ready/total)\n');
  });
});
