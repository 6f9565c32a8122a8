// Every label and annotation the engine reads or writes, in one place.

/** Linkerd's service mirror (linkerd2 pkg/k8s/labels.go, multicluster/service-mirror). */
export const linkerd = Object.freeze({
  mirroredService: 'mirror.linkerd.io/mirrored-service',
  clusterName: 'mirror.linkerd.io/cluster-name',
  headlessMirrorServiceName: 'mirror.linkerd.io/headless-mirror-svc-name',
  remoteServiceFqName: 'mirror.linkerd.io/remote-svc-fq-name',
  remoteDiscovery: 'multicluster.linkerd.io/remote-discovery',
  remoteService: 'multicluster.linkerd.io/remote-service',
  /** On a Service in its own cluster: "true" exports it to the Links' mirrors (their default selector), "remote-discovery" to remote discovery. */
  exported: 'mirror.linkerd.io/exported',
});

/** Kubernetes discovery.k8s.io conventions, and KEP-1645's source-cluster label. */
export const discovery = Object.freeze({
  serviceName: 'kubernetes.io/service-name',
  managedBy: 'endpointslice.kubernetes.io/managed-by',
  sourceCluster: 'multicluster.kubernetes.io/source-cluster',
});

/** KEP-1645's labels on the EndpointSlices of a ServiceImport (what CoreDNS's `multicluster` zone reads). */
export const mcs = Object.freeze({
  serviceName: 'multicluster.kubernetes.io/service-name',
  sourceCluster: discovery.sourceCluster,
  /** On a ServiceImport of another MCS implementation (mcs-api's controller, Cilium): the name of its derived Service. */
  derivedService: 'multicluster.kubernetes.io/derived-service',
  apiVersion: 'multicluster.x-k8s.io/v1alpha1',
});

/** What marks an object as ours. */
export const ours = Object.freeze({
  /** Value of endpointslice.kubernetes.io/managed-by on our slices. */
  sliceManager: 'globalsvc.dev',
  /** app.kubernetes.io/managed-by on our Services (and slices). */
  appManagedByLabel: 'app.kubernetes.io/managed-by',
  appManagedBy: 'globalsvc',
  /** The original service name a global Service (and its slices) stands for. */
  globalOf: 'globalsvc.dev/global-of',
  /**
   * On a global's slices of a direct member (a linked cluster read straight from it, --remote-discovery):
   * "direct". Absent on slices of mirrors and of the local Service.
   */
  memberOrigin: 'globalsvc.dev/member-origin',
  /** Set to "true" (label or annotation) on a local Service or mirror to keep it out of any global. */
  exclude: 'globalsvc.dev/exclude',
  /**
   * Annotation on a global Service: the clusters whose gateway fails globalsvc's own probe, comma
   * separated; their endpoints are published not ready. `globalsvc status` reads it back.
   */
  gatewayDown: 'globalsvc.dev/gateway-down',
  /**
   * On the Service that holds a ClusterSetIP ServiceImport's virtual IP (--mcs-api, src/domain/mcs.ts):
   * the import's name. Owned by the ServiceImport; not a global, so not labelled like one.
   */
  derivedFor: 'globalsvc.dev/derived-for',
  /**
   * On a Service a ServiceExport exports (--mcs-api, src/domain/service-export.ts): the export's
   * creationTimestamp and the Service's KEP-1645 type (ClusterSetIP, Headless). Linkerd's mirrors
   * copy both into every linked cluster, where they settle conflicts: the oldest export wins.
   */
  exportedAt: 'globalsvc.dev/exported-at',
  exportType: 'globalsvc.dev/export-type',
  /**
   * On an exported Service too: the rest of what KEP-1645 resolves across exports, as JSON (session
   * affinity and its config, internal traffic policy, traffic distribution, the ServiceExport's
   * exportedLabels and exportedAnnotations), carried to every cluster by Linkerd's mirrors.
   */
  exportProperties: 'globalsvc.dev/export-properties',
  /** On a ServiceImport of ours: a hash of the exported labels and annotations it was applied with. */
  importMetadata: 'globalsvc.dev/exported-metadata',
  /** Server-side-apply field manager. */
  fieldManager: 'globalsvc',
  /**
   * The field manager of an export's marks on a Service that is not ours (Linkerd's label, the two
   * annotations above): applied without force, so a label someone else set otherwise stays theirs,
   * and released whole (an empty apply) when the ServiceExport goes.
   */
  exportFieldManager: 'globalsvc-export',
  /** The event source / reporting controller. */
  component: 'globalsvc',
});

/** What marks the objects bursting makes: replicas in peers, HTTPRoutes here (docs/bursting.md). */
export const burst = Object.freeze({
  /** Label on a replica: `<cluster>.<namespace>.<name>` of the object it copies (a label value cannot hold '/'). */
  replicaOf: 'globalsvc.dev/replica-of',
  /** Annotation on a replica: `<cluster>/<namespace>/<name>`, unabridged, for people. */
  replicaOfAnnotation: 'globalsvc.dev/replica-of',
  /** Label on replicas and routes: `<cluster>.<namespace>.<policy>` of the BurstPolicy that made them. */
  policy: 'globalsvc.dev/burst-policy',
  /** Linkerd's export label: a replica Service carries it so the peer's mirror comes back here as `<svc>-<peer>`. */
  exported: linkerd.exported,
  /**
   * Annotation on a replica or a route: a hash of what was applied. The next plan compares it with
   * what it would apply, and writes only what differs (the API server's defaults make the objects
   * themselves differ from what was sent).
   */
  appliedHash: 'globalsvc.dev/applied-hash',
  /** On a BurstPolicy while anything it made may exist: its deletion waits for the withdrawal. */
  finalizer: 'globalsvc.dev/withdraw-replicas',
});
