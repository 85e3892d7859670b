import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Logs go to stderr so stdout stays the command's output (and --json stays parseable):
 * JSON lines when stderr is not a terminal (Jobs, init containers), readable on one.
 */
export async function createLogger(level: string, env: NodeJS.ProcessEnv = process.env): Promise<Logger> {
  const options = {
    level,
    base: { name: 'revisor' },
    redact: { paths: ['password', '*.password', 'url', '*.url', 'connectionString'], censor: '***' },
  };
  if (process.stderr.isTTY && env['REVISOR_LOG_FORMAT'] !== 'json') {
    const { default: pretty } = await import('pino-pretty');
    return pino(
      options,
      pretty({ destination: 2, sync: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss' }),
    );
  }
  return pino(options, pino.destination({ fd: 2, sync: true }));
}
