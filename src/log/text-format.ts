/**
 * The terminal's log line: time, level, message, then only the fields the message does not
 * already say, on the same line. pino-pretty prints fields as an indented block under each
 * line (or, with singleLine, as a JSON object), which is what made a three-step upgrade
 * twelve lines; this is the one-line form a person scans.
 */
const levelColour = { debug: '\x1b[90m', info: '\x1b[32m', warn: '\x1b[33m', error: '\x1b[31m' } as const;
const secretKey = /pass(word)?|secret|token|^url$|connectionString/i;
const longestField = 120;

export function formatLine(
  level: keyof typeof levelColour,
  fields: object,
  message: string,
  at: Date,
  colour: boolean,
): string {
  const time = at.toTimeString().slice(0, 8);
  const name = level.toUpperCase().padEnd(5);
  const shownLevel = colour ? `${levelColour[level]}${name}\x1b[0m` : name;
  const extra = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [key, secretKey.test(key) ? '***' : fieldText(value)] as const)
    .filter(([, text]) => !message.includes(text))
    .map(([key, text]) => `${key}=${text}`);
  const line = [message, ...extra].join('  ').replace(/[\r\n]+/g, ' ');
  return `${colour ? `\x1b[2m${time}\x1b[0m` : time} ${shownLevel} ${line}`;
}

function fieldText(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > longestField ? `${text.slice(0, longestField - 1)}…` : text;
}

/** A finished step as one aligned line: direction, transition, message, duration. */
export function stepLine(
  direction: string,
  before: readonly string[],
  after: readonly string[],
  message: string,
  status: string,
  durationMs: number,
): string {
  const transition = `${before.join(',') || '<base>'} -> ${after.join(',') || '<base>'}`;
  const title = message.length > 40 ? `${message.slice(0, 39)}…` : message;
  const outcome = status === 'applied' ? '' : ` ${status}`;
  return `${direction.padEnd(9)} ${transition.padEnd(28)} ${title.padEnd(40)} ${duration(durationMs).padStart(8)}${outcome}`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
