// The metrics port of bursting: one number from a Prometheus instant query, or why there is none.
// A failure is a reading with a reason (the MetricAvailable condition's), never a thrown surprise:
// the decision treats it as "cannot see", never as zero.
import { getGlobalDispatcher } from 'undici';
import type { MetricReading } from './streak.js';

/** Where metric readings come from: Prometheus in the controller, a script in tests. */
export interface MetricSource {
  read(query: string, at: Date): Promise<MetricReading>;
}

/** Why a query gave no number; the names are the MetricAvailable=False reasons. */
export type MetricFailure =
  | 'PrometheusUnreachable' // no HTTP answer: connection refused, DNS, TLS
  | 'QueryTimeout' // no answer within the client's timeout
  | 'HttpError' // an HTTP error without Prometheus's JSON error body (a proxy, a 404)
  | 'QueryError' // Prometheus answered status "error": bad_data, execution, timeout...
  | 'BadResponse' // 2xx but not the API's JSON, or a result type that is not a number
  | 'ManySeries' // a vector of more than one series: which one would we compare?
  | 'NoData' // an empty vector: nothing matched
  | 'NotANumber'; // NaN or ±Inf

export class MetricError extends Error {
  override name = 'MetricError';
  constructor(
    readonly reason: MetricFailure,
    message: string,
  ) {
    super(message);
  }
}

type Sample = [number, string];
interface ApiBody {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

const clip = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

function numberOf(sample: unknown): number {
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[1] !== 'string')
    throw new MetricError('BadResponse', `a sample is not [time, "value"]: ${clip(String(JSON.stringify(sample)))}`);
  const text = (sample as Sample)[1];
  // Prometheus writes NaN and the infinities as "NaN", "+Inf" and "-Inf" (Go's strconv): none is finite to Number.
  const value = Number(text);
  if (!Number.isFinite(value) || text.trim() === '') throw new MetricError('NotANumber', `the query returned ${text}, not a finite number`);
  return value;
}

/**
 * The number in an instant query's answer (GET /api/v1/query, prometheus.io/docs/prometheus/latest/querying/api/):
 * a scalar, or a vector of exactly one series.
 */
export function parseInstantQuery(status: number, text: string): number {
  let body: ApiBody | undefined;
  try {
    body = JSON.parse(text) as ApiBody;
  } catch {
    body = undefined;
  }
  if (body?.status === 'error')
    throw new MetricError('QueryError', `${body.errorType ?? 'error'}: ${body.error ?? clip(text)} (HTTP ${status})`);
  if (status < 200 || status > 299) throw new MetricError('HttpError', `HTTP ${status}: ${clip(text)}`);
  if (body?.status !== 'success' || !body.data) throw new MetricError('BadResponse', `not a Prometheus API answer: ${clip(text)}`);
  const { resultType, result } = body.data;
  if (resultType === 'scalar') return numberOf(result);
  if (resultType !== 'vector')
    throw new MetricError('BadResponse', `the query returned a ${resultType}, not a scalar or an instant vector`);
  if (!Array.isArray(result)) throw new MetricError('BadResponse', `a vector's result is not a list: ${clip(text)}`);
  if (result.length === 0)
    throw new MetricError('NoData', 'the query returned no series: nothing matched (no traffic recorded yet, or wrong labels)');
  if (result.length > 1)
    throw new MetricError('ManySeries', `the query returned ${result.length} series; it must return one (wrap it in sum())`);
  return numberOf((result[0] as { value?: unknown } | null)?.value);
}

export interface PrometheusOptions {
  /** Per query, connection to answer; a reading that takes longer is a QueryTimeout. */
  timeoutMs?: number;
  /** Sent with every query, e.g. an Authorization header. */
  headers?: Record<string, string>;
}

/** A Prometheus HTTP API, for instant queries. */
export class Prometheus implements MetricSource {
  private readonly base: string;

  constructor(
    url: string,
    private readonly options: PrometheusOptions = {},
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  /** The query's value at `at`; throws a MetricError. */
  async query(query: string, at: Date): Promise<number> {
    const url = new URL(`${this.base}/api/v1/query`);
    url.searchParams.set('query', query);
    url.searchParams.set('time', (at.getTime() / 1000).toFixed(3));
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    // Prometheus stops evaluating at its own `timeout` too, and says so with a JSON error.
    url.searchParams.set('timeout', `${Math.max(1, Math.floor(timeoutMs / 1000))}s`);
    try {
      const response = await getGlobalDispatcher().request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: { Accept: 'application/json', ...this.options.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return parseInstantQuery(response.statusCode, await response.body.text());
    } catch (err) {
      if (err instanceof MetricError) throw err;
      const e = err as Error & { cause?: unknown };
      if (e.name === 'TimeoutError') throw new MetricError('QueryTimeout', `${this.base}: no answer within ${timeoutMs}ms`);
      throw new MetricError('PrometheusUnreachable', `${this.base}: ${e.message}${e.cause ? ` (${String(e.cause)})` : ''}`);
    }
  }

  async read(query: string, at: Date): Promise<MetricReading> {
    try {
      return { ok: true, value: await this.query(query, at) };
    } catch (err) {
      if (err instanceof MetricError) return { ok: false, reason: err.reason, message: err.message };
      throw err;
    }
  }
}
