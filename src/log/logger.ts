import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';

/** The logging the CLI does; pino underneath. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const levels = { debug: 20, info: 30, warn: 40, error: 50, silent: Number.POSITIVE_INFINITY } as const;
type Level = keyof typeof levels;

export function parseLevel(text: string): Level {
  if (!(text in levels)) throw new TypeError(`log level must be one of ${Object.keys(levels).join(', ')}`);
  return text as Level;
}

/**
 * Logs go to stderr so stdout stays the command's output (and --json stays parseable):
 * JSON lines when stderr is not a terminal (Jobs, init containers), readable on one.
 * pino is loaded at the first line that passes the level, so a run that logs nothing
 * (the init container's no-op) never loads it.
 */
export function createLogger(level: Level, env: NodeJS.ProcessEnv = process.env): Logger {
  let instance: PinoLogger | undefined;
  const load = (): PinoLogger => {
    if (instance) return instance;
    const require = createRequire(import.meta.url);
    const { pino } = require('pino') as typeof import('pino');
    const options = {
      level,
      base: { name: 'revisor' },
      redact: { paths: ['password', '*.password', 'url', '*.url', 'connectionString'], censor: '***' },
    };
    if (process.stderr.isTTY && env['REVISOR_LOG_FORMAT'] !== 'json') {
      const pretty = require('pino-pretty') as typeof import('pino-pretty');
      instance = pino(
        options,
        pretty({ destination: 2, sync: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss' }),
      );
    } else {
      instance = pino(options, pino.destination({ fd: 2, sync: true }));
    }
    return instance;
  };
  const at =
    (name: Exclude<Level, 'silent'>) =>
    (fields: object, message: string): void => {
      if (levels[name] >= levels[level]) load()[name](fields, message);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
