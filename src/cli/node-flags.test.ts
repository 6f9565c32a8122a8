import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENTRYPOINT, NODE_FLAGS, PROCESS_ENV } from './node-flags.js';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8').split('\n');

describe('the V8 flags of the controller', () => {
  it('are the ones the image entrypoint runs it with', () => {
    const line = dockerfile.find((l) => l.startsWith('ENTRYPOINT'))!;
    const entrypoint = JSON.parse(line.slice('ENTRYPOINT'.length)) as string[];
    const script = entrypoint.indexOf(ENTRYPOINT);
    expect(entrypoint.slice(1, script)).toEqual(NODE_FLAGS);
    expect(entrypoint.slice(script)).toEqual([ENTRYPOINT, 'run']);
  });

  it("and its environment is the image's", () => {
    const env = Object.fromEntries(
      dockerfile
        .filter((l) => l.startsWith('ENV '))
        .flatMap((l) => l.slice('ENV '.length).trim().split(/\s+/))
        .map((kv) => kv.split('=') as [string, string]),
    );
    expect(env).toMatchObject(PROCESS_ENV);
  });
});
