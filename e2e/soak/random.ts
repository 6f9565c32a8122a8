// A seeded random source (mulberry32): the same seed draws the same schedule of changes and faults.

export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /**
   * The independent stream for draw `index` of `stream`: what change n or fault n draws does not
   * shift when another loop, or an earlier change, drew more or less (a pick among pods draws only
   * when there are pods), so the same seed replays the same schedule.
   */
  fork(stream: number, index: number): Random {
    return new Random(Math.imul(this.seed ^ Math.imul(stream + 1, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `choices`, each as likely as its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((n, [, w]) => n + w, 0);
    let r = this.next() * total;
    for (const [choice, weight] of choices) if ((r -= weight) < 0) return choice;
    return choices.at(-1)![0];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}
