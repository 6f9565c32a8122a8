import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENTRYPOINT, NODE_FLAGS } from './node-flags.js';

describe('the V8 flags of the controller', () => {
  it('are the ones the image entrypoint runs it with', () => {
    const line = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT'))!;
    const entrypoint = JSON.parse(line.slice('ENTRYPOINT'.length)) as string[];
    const script = entrypoint.indexOf(ENTRYPOINT);
    expect(entrypoint.slice(1, script)).toEqual(NODE_FLAGS);
    expect(entrypoint.slice(script)).toEqual([ENTRYPOINT, 'run']);
  });
});
