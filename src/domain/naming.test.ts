import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignHostnames, endpointHostname, globalServiceName, isDnsLabel } from './naming.js';

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);

describe('global service names', () => {
  it('appends the suffix when the result fits in a DNS label', () => {
    expect(globalServiceName('db', '-global')).toBe('db-global');
  });

  it('cuts a long name and keeps the suffix, with a hash of the whole name', () => {
    const name = 'a'.repeat(60);
    const global = globalServiceName(name, '-global');
    expect(global).toHaveLength(63);
    expect(global.endsWith('-global')).toBe(true);
    expect(isDnsLabel(global)).toBe(true);
    expect(globalServiceName(`${'a'.repeat(59)}b`, '-global')).not.toBe(global);
  });

  it('is a valid label for every valid service name, and distinct names stay distinct', () => {
    fc.assert(
      fc.property(label, label, (a, b) => {
        expect(isDnsLabel(globalServiceName(a, '-global'))).toBe(true);
        if (a !== b) expect(globalServiceName(a, '-global')).not.toBe(globalServiceName(b, '-global'));
      }),
    );
  });
});

describe('endpoint hostnames', () => {
  it('publishes <hostname>-<cluster>', () => {
    expect(endpointHostname('db-1', 'north')).toBe('db-1-north');
  });

  it('turns a hostname that stops being a label after suffixing into a valid one', () => {
    const published = endpointHostname('x'.repeat(60), 'north');
    expect(isDnsLabel(published)).toBe(true);
    expect(published.endsWith('-north')).toBe(true);
  });

  it('gives colliding pairs distinct labels, and no pair keeps the contested one', () => {
    const { labels, rewritten } = assignHostnames([
      { hostname: 'a-b', cluster: 'c' },
      { hostname: 'a', cluster: 'b-c' },
    ]);
    expect(labels.get('c/a-b')).not.toBe(labels.get('b-c/a'));
    expect([...labels.values()]).not.toContain('a-b-c');
    expect(rewritten.map((r) => r.why)).toEqual(['collision', 'collision']);
  });

  it('assigns every distinct pair a distinct valid label (property)', () => {
    const hostname = fc.stringMatching(/^[a-zA-Z0-9][-a-zA-Z0-9.]{0,70}$/);
    const pairs = fc.array(fc.record({ hostname, cluster: fc.constantFrom('west', 'east', 'b-c', 'c', 'north-east-1') }), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(pairs, (ps) => {
        const { labels } = assignHostnames(ps);
        const values = [...labels.values()];
        for (const v of values) expect(isDnsLabel(v)).toBe(true);
        expect(new Set(values).size).toBe(labels.size);
        expect(labels.size).toBe(new Set(ps.map((p) => `${p.cluster}/${p.hostname}`)).size);
      }),
    );
  });
});
