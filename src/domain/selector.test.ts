import { describe, expect, it } from 'vitest';
import { labelSelectorString } from './selector.js';

describe('a LabelSelector as a labelSelector parameter', () => {
  it("writes Linkerd's remote-discovery selector as the API reads it", () => {
    expect(labelSelectorString({ matchLabels: { 'mirror.linkerd.io/exported': 'remote-discovery' } })).toBe(
      'mirror.linkerd.io/exported=remote-discovery',
    );
  });

  it('writes every operator, sorted by key, values sorted', () => {
    expect(
      labelSelectorString({
        matchLabels: { tier: 'db' },
        matchExpressions: [
          { key: 'zone', operator: 'NotIn', values: ['b', 'a'] },
          { key: 'app', operator: 'In', values: ['pg'] },
          { key: 'canary', operator: 'DoesNotExist' },
          { key: 'exported', operator: 'Exists' },
        ],
      }),
    ).toBe('app in (pg),!canary,exported,tier=db,zone notin (a,b)');
  });

  it('selects everything when empty, and refuses what the API would', () => {
    expect(labelSelectorString({})).toBe('');
    expect(() => labelSelectorString({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toThrow(/needs at least one value/);
    expect(() => labelSelectorString({ matchExpressions: [{ key: 'a', operator: 'Gt' }] })).toThrow(/not a selector operator/);
  });
});
