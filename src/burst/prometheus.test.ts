import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricError, parseInstantQuery, Prometheus, type MetricFailure } from './prometheus.js';

// Answers of GET /api/v1/query, recorded from Prometheus 2.42.0 (Debian's package) scraping
// Linkerd-shaped request_total counters, and one from an HTTP proxy in front of it.
const recorded = {
  oneSeries: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795247902,"6.6075"]}]}}',
  noSeries: '{"status":"success","data":{"resultType":"vector","result":[]}}',
  nan: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795247902,"NaN"]}]}}',
  scalar: '{"status":"success","data":{"resultType":"scalar","result":[1795247902,"7"]}}',
  infinity: '{"status":"success","data":{"resultType":"scalar","result":[1795247902,"+Inf"]}}',
  threeSeries:
    '{"status":"success","data":{"resultType":"vector","result":[' +
    '{"metric":{"deployment":"idle","direction":"inbound","namespace":"shop","pod":"idle-1"},"value":[1795247902,"0"]},' +
    '{"metric":{"deployment":"web","direction":"inbound","namespace":"shop","pod":"web-1"},"value":[1795247902,"5.286"]},' +
    '{"metric":{"deployment":"web","direction":"inbound","namespace":"shop","pod":"web-2"},"value":[1795247902,"1.3215"]}]}}',
  matrix:
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"request_total"},"values":[[1795247894.571,"7"],[1795247895.571,"7"]]}]}}',
  string: '{"status":"success","data":{"resultType":"string","result":[1795247902,"hello"]}}',
  badData:
    '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:47: parse error: unclosed left parenthesis"}',
  execution:
    '{"status":"error","errorType":"execution","error":"found duplicate series for the match group {pod=\\"web-1\\"} on the right hand-side of the operation"}',
  withWarnings:
    '{"status":"success","warnings":["PromQL info: metric might not be a counter"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1795247902,"12"]}]}}',
  proxyError: '<html><body><h1>502 Bad Gateway</h1></body></html>',
};

const failure = (status: number, text: string): [MetricFailure, string] => {
  try {
    parseInstantQuery(status, text);
  } catch (err) {
    expect(err).toBeInstanceOf(MetricError);
    return [(err as MetricError).reason, (err as MetricError).message];
  }
  throw new Error('parsed a number');
};

describe("reading a Prometheus instant query's answer", () => {
  it('takes the number of a one-series vector or of a scalar', () => {
    expect(parseInstantQuery(200, recorded.oneSeries)).toBe(6.6075);
    expect(parseInstantQuery(200, recorded.scalar)).toBe(7);
    expect(parseInstantQuery(200, recorded.withWarnings)).toBe(12);
  });

  it.each<[string, number, string, MetricFailure, RegExp]>([
    ['an empty vector is no data', 200, recorded.noSeries, 'NoData', /no series/],
    ['NaN (0/0: no traffic at all in the window)', 200, recorded.nan, 'NotANumber', /NaN, not a finite number/],
    ['+Inf', 200, recorded.infinity, 'NotANumber', /\+Inf/],
    ['several series', 200, recorded.threeSeries, 'ManySeries', /3 series; it must return one \(wrap it in sum\(\)\)/],
    ['a range vector', 200, recorded.matrix, 'BadResponse', /a matrix, not a scalar or an instant vector/],
    ['a string', 200, recorded.string, 'BadResponse', /a string/],
    [
      'a syntax error, with Prometheus’s words',
      400,
      recorded.badData,
      'QueryError',
      /^bad_data: .*unclosed left parenthesis \(HTTP 400\)$/,
    ],
    ['an execution error', 422, recorded.execution, 'QueryError', /^execution: found duplicate series/],
    ['an HTTP error without the API’s body', 502, recorded.proxyError, 'HttpError', /^HTTP 502: <html>/],
    ['a 200 that is not the API', 200, 'OK', 'BadResponse', /not a Prometheus API answer: OK/],
    [
      'a sample without a value',
      200,
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}',
      'BadResponse',
      /not \[time, "value"\]/,
    ],
    ['an empty value', 200, '{"status":"success","data":{"resultType":"scalar","result":[1,""]}}', 'NotANumber', /not a finite number/],
  ])('gives no number for %s, with a reason', (_, status, text, reason, message) => {
    const [r, m] = failure(status, text);
    expect(r).toBe(reason);
    expect(m).toMatch(message);
  });
});

describe('the Prometheus client', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });
  /** A loopback server answering each request with `answer`, or never when it returns undefined. */
  const serve = async (answer: (req: IncomingMessage) => [number, string] | undefined): Promise<string> => {
    server = createServer((req, res) => {
      const reply = answer(req);
      if (reply) res.writeHead(reply[0], { 'Content-Type': 'application/json' }).end(reply[1]);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom/`;
  };

  it("asks for the query at its time with the configured headers, and reads the answer's number", async () => {
    const asked: IncomingMessage[] = [];
    const url = await serve((req) => (asked.push(req), [200, recorded.oneSeries]));
    const prometheus = new Prometheus(url, { timeoutMs: 2000, headers: { Authorization: 'Bearer t' } });
    const reading = await prometheus.read('sum(rate(request_total[1m]))', new Date(1795247902_500));
    expect(reading).toEqual({ ok: true, value: 6.6075 });
    const query = new URL(asked[0]!.url!, 'http://x').searchParams;
    expect(new URL(asked[0]!.url!, 'http://x').pathname).toBe('/prom/api/v1/query');
    expect([query.get('query'), query.get('time'), query.get('timeout')]).toEqual(['sum(rate(request_total[1m]))', '1795247902.500', '2s']);
    expect(asked[0]!.headers).toMatchObject({ authorization: 'Bearer t', accept: 'application/json' });
  });

  it("reads an error status with Prometheus's JSON error as the query's error", async () => {
    const url = await serve(() => [400, recorded.badData]);
    expect(await new Prometheus(url).read('sum(', new Date())).toMatchObject({ ok: false, reason: 'QueryError' });
  });

  it('turns a Prometheus that does not answer in time into a QueryTimeout', async () => {
    const url = await serve(() => undefined);
    const reading = await new Prometheus(url, { timeoutMs: 300 }).read('up', new Date());
    expect(reading).toMatchObject({ ok: false, reason: 'QueryTimeout', message: expect.stringContaining('within 300ms') });
  });

  it('turns a Prometheus it cannot reach into a reading with a reason, not an exception', async () => {
    const reading = await new Prometheus('http://127.0.0.1:1/', { timeoutMs: 2000 }).read('up', new Date());
    expect(reading).toMatchObject({ ok: false, reason: 'PrometheusUnreachable', message: expect.stringContaining('http://127.0.0.1:1') });
  });
});
