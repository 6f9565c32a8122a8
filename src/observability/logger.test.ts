import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('logs', () => {
  it('never carry tokens, passwords, Authorization headers or kubeconfigs', async () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += String(chunk);
        done();
      },
    });
    const log = createLogger('info', sink).child({ cluster: 'west' });
    log.info({ token: 's3cr3t-token', user: { password: 'hunter2', token: 'nested-token' } }, 'connecting');
    log.warn({ request: { headers: { Authorization: 'Bearer abc.def' } }, kubeconfig: 'client-key-data: AAAA' }, 'retrying');
    await new Promise((r) => setImmediate(r));
    expect(out).toContain('connecting');
    expect(out).toContain('"cluster":"west"');
    for (const secret of ['s3cr3t-token', 'hunter2', 'nested-token', 'Bearer abc.def', 'AAAA']) expect(out).not.toContain(secret);
  });
});
