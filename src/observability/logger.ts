import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Whatever a log line carries, credentials never leave: tokens, kubeconfigs and
 * Authorization headers are censored wherever they appear in the first levels of an object.
 */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'bearerToken',
  '*.bearerToken',
  'password',
  '*.password',
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'kubeconfig',
  '*.kubeconfig',
  'client-key-data',
  '*.client-key-data',
  'keyData',
  '*.keyData',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'globalsvc' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
