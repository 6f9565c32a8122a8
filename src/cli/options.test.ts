import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config.js';
import { OPTIONS } from './options.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the documented configuration', () => {
  it('lists every option with its flag, environment variable and default, as the code has them', () => {
    for (const o of OPTIONS) {
      const flag = o.flag.split(' ')[0]!;
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${flag}\` |`));
      expect(row, `README row for ${flag}`).toBeDefined();
      expect(row).toContain(`\`${o.env}\``);
      if ('default' in o) expect(row).toContain(`\`${o.default}\``);
    }
  });

  it('has a flag for every configuration field', () => {
    expect(OPTIONS.map((o) => o.key).sort()).toEqual(Object.keys(configSchema.shape).sort());
  });
});
