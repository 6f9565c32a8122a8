import { describe, expect, it } from 'vitest';
import { selectorString } from './workload.js';

describe('a target selector in the query syntax', () => {
  it('has every label and expression', () => {
    expect(
      selectorString({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['front', 'edge'] },
          { key: 'track', operator: 'NotIn', values: ['canary'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier in (front,edge),track notin (canary),team,!legacy');
  });
});
