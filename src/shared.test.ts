import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareStrings, intern } from './shared.js';

// What the planner sorts: DNS labels and subdomains (hostnames, cluster and Service names), port names.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);

describe('compareStrings', () => {
  it('orders by code point, as Go does, whatever the locale', () => {
    expect(['b', 'a-b', 'ab', 'a.b', 'a0', 'A'].sort(compareStrings)).toEqual(['A', 'a-b', 'a.b', 'a0', 'ab', 'b']);
    expect(compareStrings('db-1', 'db-1')).toBe(0);
  });

  it('orders DNS labels, subdomains and port names as localeCompare did, so an upgrade rewrites no slice for the order', () => {
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(Math.sign(compareStrings(a, b))).toBe(Math.sign(a.localeCompare(b, 'en')));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('intern', () => {
  it('gives back the same characters, whatever the string (an index-like name, a prototype property, a rope)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => intern(s) === s));
    for (const s of ['', '0', '123', '4294967295', '__proto__', 'constructor', 'toString', `${'ns'}/${'svc'.repeat(8)}`])
      expect(intern(s)).toBe(s);
  });

  it('leaves nothing behind in its table', () => {
    intern('left-behind?');
    expect(intern('another')).toBe('another');
    expect(intern('left-behind?')).toBe('left-behind?');
  });
});
