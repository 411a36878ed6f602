/**
 * Progress on stderr for long work: done/total, rate, ETA and any extra fields.
 * It draws only when stderr is a terminal (or when forced), and at most every `intervalMs`.
 */
import { formatDuration } from '../train/training-progress.js';

export { formatDuration };

export interface ProgressOptions {
  label: string;
  total: number;
  intervalMs?: number;
  enabled?: boolean;
  stream?: NodeJS.WriteStream;
}

export interface Progress {
  /** Adds `count` finished items and optional extra fields shown after the rate. */
  tick(count?: number, extra?: Record<string, string | number>): void;
  /** Draws the final line and moves to a new line. */
  done(extra?: Record<string, string | number>): void;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? stream.isTTY === true;
  const intervalMs = options.intervalMs ?? 200;
  const start = Date.now();
  let finished = 0;
  let lastDraw = 0;
  let extras: Record<string, string | number> = {};

  const draw = (final: boolean): void => {
    if (!enabled) return;
    const seconds = (Date.now() - start) / 1000;
    const rate = finished / Math.max(seconds, 1e-9);
    const eta = rate > 0 ? (options.total - finished) / rate : Number.NaN;
    const fields = Object.entries(extras).map(([key, value]) => `${key} ${value}`);
    const line = [
      `${options.label} ${finished}/${options.total}`,
      `${rate.toFixed(1)}/s`,
      final ? `took ${formatDuration(seconds)}` : `eta ${formatDuration(eta)}`,
      ...fields,
    ].join('  ');
    stream.write(stream.isTTY ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };

  return {
    tick(count = 1, extra) {
      finished += count;
      if (extra) extras = { ...extras, ...extra };
      const now = Date.now();
      if (now - lastDraw >= intervalMs) {
        lastDraw = now;
        draw(false);
      }
    },
    done(extra) {
      if (extra) extras = { ...extras, ...extra };
      draw(true);
    },
  };
}
