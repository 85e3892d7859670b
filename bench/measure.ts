import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** A /proc/<pid>/status memory field (VmRSS, VmHWM) in KiB. */
export const procKiB = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** The RSS of a node process that loads nothing: the floor any Node controller's memory sits on. */
export async function bareNodeRssKiB(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const kib = procKiB(child.pid!, 'VmRSS');
  child.kill();
  return kib;
}

/**
 * Quantiles of a Prometheus histogram over the window between two scrapes, interpolated
 * within buckets as PromQL's histogram_quantile does (so no finer than the buckets).
 */
export function histogramQuantile(before: string, after: string, name: string) {
  const buckets = (text: string) =>
    new Map(
      [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} ([0-9.e+-]+)$`, 'gm'))].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
  const scalar = (text: string, suffix: string) =>
    Number(new RegExp(`^${name}_${suffix} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const start = buckets(before);
  const window = [...buckets(after)]
    .map(([le, n]) => ({
      le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le),
      n: n - (start.get(le) ?? 0),
    }))
    .sort((a, b) => a.le - b.le);
  const count = scalar(after, 'count') - scalar(before, 'count');
  const mean = (scalar(after, 'sum') - scalar(before, 'sum')) / count;
  const quantile = (q: number) => {
    const rank = q * count;
    let lower = 0;
    let below = 0;
    for (const { le, n } of window) {
      if (n >= rank) {
        if (!Number.isFinite(le)) return lower;
        return lower + ((le - lower) * (rank - below)) / Math.max(n - below, 1);
      }
      lower = le;
      below = n;
    }
    return Number.NaN;
  };
  /** The share of observations above a bucket's bound (a bound the histogram has). */
  const shareAbove = (le: number) => 1 - (window.find((b) => b.le === le)?.n ?? Number.NaN) / count;
  return { count, mean, quantile, shareAbove };
}

/**
 * CPU seconds (user + system) of the processes whose command line matches, with what their
 * exited children used (a PostgreSQL backend that has ended counts to its postmaster).
 */
export function cpuSeconds(match: (cmdline: string) => boolean): number {
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux ABI Node runs on
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (!match(cmdline)) continue;
      // Fields after the parenthesized command name: utime, stime, cutime, cstime are 14–17.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    } catch {
      // The process ended while being read.
    }
  }
  return ticks / ticksPerSecond;
}
