import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Helpers the benches share: they time whole commands, as users run them. */
export const timeBin = '/usr/bin/time';

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Wall time in ms and peak RSS in KiB (GNU time) of one command. */
export function measure(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { ms: number; rssKiB: number | null } {
  const useTime = existsSync(timeBin);
  const started = process.hrtime.bigint();
  const result = useTime
    ? spawnSync(timeBin, ['-f', '%M', cmd, ...args], { env, encoding: 'utf8' })
    : spawnSync(cmd, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${result.stderr}`);
  const rss = useTime ? Number(result.stderr.trim().split('\n').at(-1)) : Number.NaN;
  return { ms, rssKiB: Number.isFinite(rss) ? rss : null };
}

/** The machine's load, printed beside every figure: a busy machine explains a slow one. */
export const loadLine = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (1, 5, 15 min) on this machine`;
