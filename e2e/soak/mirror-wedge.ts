// Linkerd's service mirror cannot lead twice in one process. When it loses its lease (its own
// API server away for longer than the 10 s renew deadline) and wins it back, the first term's
// loop in multicluster/cmd/service-mirror/main.go keeps spinning on its closed context and calls
// cleanupWorkers(), which stops the second term's cluster watcher; the second term's caches then
// never sync, and 60 s later the mirror exits with "failed to sync caches". Restarted, it repairs
// what it missed. Until then its cluster's mirrors of that peer are frozen, whatever globalsvc does.
//
// The soak reads it off the mirror's own log — from a second "Starting controller loop" in one
// process until the next process of that mirror leads — and reports it (SoakReport.mirrorWedges).
// It excuses nothing: the oracle follows Linkerd's objects in each cluster, frozen or not, and so
// does globalsvc.

export interface MirrorWedge {
  /** The mirror's process name, `service-mirror-<cluster>-<peer>`: the cluster whose mirrors of peer froze. */
  readonly mirror: string;
  readonly from: number;
  /** When the next process of the mirror led again; undefined while it is wedged. */
  to?: number;
}

const MIRROR = /^service-mirror-/;
const STARTED = 'running version';
const LEADS = 'Starting controller loop';

export class MirrorWedges {
  /** Per mirror process name: how often its current process started leading. */
  private readonly terms = new Map<string, number>();
  private readonly open = new Map<string, MirrorWedge>();
  readonly all: MirrorWedge[] = [];

  /** Feeds one line of a test-bed process's output; lines of other processes are ignored. */
  observe(process: string, line: string, now: number): void {
    if (!MIRROR.test(process)) return;
    if (line.includes(STARTED)) {
      this.terms.set(process, 0);
      return;
    }
    if (!line.includes(LEADS)) return;
    const terms = (this.terms.get(process) ?? 0) + 1;
    this.terms.set(process, terms);
    const wedge = this.open.get(process);
    if (terms === 1 && wedge) {
      wedge.to = now;
      this.open.delete(process);
    } else if (terms > 1 && !wedge) {
      const w: MirrorWedge = { mirror: process, from: now };
      this.open.set(process, w);
      this.all.push(w);
    }
  }
}
