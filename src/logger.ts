import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Anything that could hold a credential is censored by path, so a
 * careless `logger.info({ req })` cannot leak one; secrets are also never passed to the
 * logger on purpose.
 */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'apiSecret',
  '*.apiSecret',
  'password',
  '*.password',
  'variables',
  '*.variables',
  'masterKey',
  '*.masterKey',
  'previousMasterKey',
  '*.previousMasterKey',
];

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'keyledger' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
