import { describe, expect, it } from 'vitest';
import { MirrorWedges } from './mirror-wedge.js';

// The lines of service-mirror-east-north in soak seed 1509848758 (logrus text, trimmed), which
// left east's mirrors of north frozen from 08:55:09 to 08:56:11.
/** The mirrors wedged now. */
const wedged = (w: MirrorWedges) => w.all.filter((x) => x.to === undefined).map((x) => x.mirror);
const level = (msg: string) => `time="2026-12-03T08:55:09Z" level=info msg="${msg}"`;

describe('a Linkerd mirror that wins its lease back in the same process', () => {
  it('is wedged from its second term until its next process leads', () => {
    const w = new MirrorWedges();
    w.observe('service-mirror-east-north', level('running version dev-undefined'), 0);
    w.observe('service-mirror-east-north', level('Starting controller loop'), 1);
    expect(wedged(w)).toEqual([]);
    w.observe('service-mirror-east-north', level('service-mirror-north released lease'), 100);
    w.observe('service-mirror-east-north', level('Starting controller loop'), 101);
    expect(wedged(w)).toEqual(['service-mirror-east-north']);
    w.observe('service-mirror-east-north', 'time="…" level=fatal msg="failed to sync caches"', 161);
    w.observe('service-mirror-east-north', '[test bed] service-mirror-east-north exited (code 1); restarting in 1000 ms', 161);
    expect(wedged(w)).toEqual(['service-mirror-east-north']);
    w.observe('service-mirror-east-north', level('running version dev-undefined'), 162);
    expect(wedged(w)).toEqual(['service-mirror-east-north']);
    w.observe('service-mirror-east-north', level('Starting controller loop'), 163);
    expect(wedged(w)).toEqual([]);
    expect(w.all).toEqual([{ mirror: 'service-mirror-east-north', from: 101, to: 163 }]);
  });

  it('is not wedged by a restart, the soak killing it, or another process', () => {
    const w = new MirrorWedges();
    for (const [at, line] of [
      [0, 'running version dev-undefined'],
      [1, 'Starting controller loop'],
      [50, 'service-mirror-west released lease'],
      [60, 'running version dev-undefined'],
      [61, 'Starting controller loop'],
    ] as const)
      w.observe('service-mirror-north-west', level(line), at);
    w.observe('globalsvc-east', level('Starting controller loop'), 70);
    w.observe('globalsvc-east', level('Starting controller loop'), 71);
    expect(w.all).toEqual([]);
    expect(wedged(w)).toEqual([]);
  });
});
