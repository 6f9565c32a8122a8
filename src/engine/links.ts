import type { Subscription } from 'rxjs';
import { KubeApiError, LINKS, type KubeApi } from '../cluster/kube-api.js';
import { watchResource, type WatchLifecycle } from '../cluster/watch-stream.js';
import type { LinkState } from '../domain/desired.js';
import { linkInfo, type GatewayProbeSpec, type LinkInfo, type LinkObject } from '../domain/links.js';
import type { Logger } from '../observability/logger.js';
import { objectKey } from '../shared.js';
import type { Metrics } from '../observability/metrics.js';
import { GatewayProber, type ProbeFn } from './gateway-prober.js';

/**
 * Linkerd's Links in this cluster, watched, and globalsvc's own probe of their gateways: which
 * clusters are linked (a mirror of a cluster without a Link is stale), and which gateways fail.
 * Without the Link CRD or the right to read it, nothing is known and nothing changes: the globals
 * then follow Linkerd's marks alone.
 */
export class LinkWatch {
  private readonly links = new Map<string, LinkInfo>();
  private known = false;
  private subscription: Subscription | undefined;
  private readonly prober: GatewayProber;
  private unreadable: string | undefined;
  /** What was last published and logged, so that Link status churn changes nothing downstream. */
  private published = '';
  private readonly probeProblems = new Map<string, string>();
  private readonly linkListeners: ((links: readonly LinkInfo[] | undefined) => void)[] = [];

  constructor(
    private readonly api: KubeApi,
    private readonly options: { probe: boolean; probeAddresses: Readonly<Record<string, readonly string[]>> },
    /** Called with the new state whenever it changes. */
    private readonly onChange: (state: LinkState) => void,
    private readonly onLifecycle: (event: WatchLifecycle) => void,
    metrics: Metrics,
    private readonly log: Logger,
    probe?: ProbeFn,
  ) {
    this.prober = new GatewayProber(() => this.publish(), metrics, log.child({ component: 'gateway-probe' }), probe);
  }

  get state(): LinkState {
    return {
      ...(this.known ? { linked: new Set([...this.links.values()].map((l) => l.cluster)) } : {}),
      gatewayDown: this.prober.down(),
    };
  }

  /** Called with every Link after each change of one, or with undefined when Links cannot be read. */
  onLinks(listener: (links: readonly LinkInfo[] | undefined) => void): void {
    this.linkListeners.push(listener);
  }

  start(): void {
    // The watches' usual backoff (at most 5 s): a Link made again while its API server was away (an
    // unlink, a link) must be seen soon after it is back, or its cluster reads as LinkMissing.
    this.subscription = watchResource<LinkObject>(this.api, LINKS, undefined, {
      onLifecycle: (e) => this.lifecycle(e),
    }).subscribe((event) => {
      if (event.type === 'relisted') {
        this.links.clear();
        for (const o of event.items) this.put(o);
        this.known = true;
        this.unreadable = undefined;
      } else if (event.type === 'deleted') this.links.delete(objectKey(event.object));
      else this.put(event.object);
      this.refresh();
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.prober.stop();
  }

  private put(o: LinkObject): void {
    const ref = objectKey(o);
    const info = linkInfo(o);
    if (info) this.links.set(ref, info);
    else this.links.delete(ref);
  }

  private refresh(): void {
    const probes = new Map<string, GatewayProbeSpec>();
    if (this.options.probe)
      for (const l of this.links.values()) {
        const addresses = this.options.probeAddresses[l.cluster];
        if (l.probe) probes.set(l.cluster, addresses ? { ...l.probe, addresses: [...addresses] } : l.probe);
        else if (l.probeProblem && this.probeProblems.get(l.ref) !== l.probeProblem)
          this.log.warn({ link: l.ref, cluster: l.cluster, why: l.probeProblem }, 'not probing this gateway');
        if (l.probeProblem) this.probeProblems.set(l.ref, l.probeProblem);
        else this.probeProblems.delete(l.ref);
      }
    this.prober.update(probes);
    this.publish();
    const links = [...this.links.values()];
    for (const listener of this.linkListeners) listener(links);
  }

  private publish(): void {
    const state = this.state;
    const signature = JSON.stringify([state.linked ? [...state.linked].sort() : null, [...state.gatewayDown].sort()]);
    if (signature === this.published) return;
    this.published = signature;
    this.onChange(state);
  }

  /** A missing CRD or a refused list is said once, not at every retry: it is a setup, not an outage. */
  private lifecycle(e: WatchLifecycle): void {
    if (e.type === 'failed' && e.error instanceof KubeApiError && (e.error.notFound || e.error.status === 403)) {
      const why = e.error.notFound ? 'no Link CRD (multicluster.linkerd.io/v1alpha3) here' : 'no right to list Links';
      if (this.unreadable !== why) {
        this.log.warn({ why }, "cannot read Linkerd's Links: stale mirrors of unlinked clusters are not told, and gateways are not probed");
        for (const listener of this.linkListeners) listener(undefined);
      }
      this.unreadable = why;
      return;
    }
    this.onLifecycle(e);
  }
}
