import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';
import { formatLine } from './text-format.js';

/** The logging the CLI does; pino underneath for JSON, one line per event on a terminal. */
export interface Logger {
  /** Whether lines are read by a person (a terminal, or REVISOR_LOG_FORMAT=text) rather than parsed. */
  readonly readable: boolean;
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const levels = { debug: 20, info: 30, warn: 40, error: 50, silent: Number.POSITIVE_INFINITY } as const;
type Level = keyof typeof levels;
type EventLevel = Exclude<Level, 'silent'>;

export function parseLevel(text: string): Level {
  if (!(text in levels)) throw new TypeError(`log level must be one of ${Object.keys(levels).join(', ')}`);
  return text as Level;
}

/** text on a terminal, JSON lines elsewhere (Jobs, init containers); REVISOR_LOG_FORMAT decides when set. */
export function logFormat(env: NodeJS.ProcessEnv, isTty: boolean): 'text' | 'json' {
  const chosen = env['REVISOR_LOG_FORMAT'];
  if (chosen === 'json' || chosen === 'text') return chosen;
  return isTty ? 'text' : 'json';
}

/**
 * Logs go to stderr so stdout stays the command's output (and --json stays parseable).
 * pino is loaded at the first JSON line that passes the level, so a run that logs nothing
 * (the init container's no-op) never loads it.
 */
export function createLogger(level: Level, env: NodeJS.ProcessEnv = process.env): Logger {
  const readable = logFormat(env, process.stderr.isTTY === true) === 'text';
  const colour = readable && process.stderr.isTTY === true && env['NO_COLOR'] === undefined;
  let instance: PinoLogger | undefined;
  const pinoLogger = (): PinoLogger => {
    if (instance) return instance;
    const require = createRequire(import.meta.url);
    const { pino } = require('pino') as typeof import('pino');
    instance = pino(
      {
        level,
        base: { name: 'revisor' },
        redact: { paths: ['password', '*.password', 'url', '*.url', 'connectionString'], censor: '***' },
      },
      pino.destination({ fd: 2, sync: true }),
    );
    return instance;
  };
  const at =
    (name: EventLevel) =>
    (fields: object, message: string): void => {
      if (levels[name] < levels[level]) return;
      if (readable) process.stderr.write(`${formatLine(name, fields, message, new Date(), colour)}\n`);
      else pinoLogger()[name](fields, message);
    };
  return { readable, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
