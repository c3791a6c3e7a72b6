import { SingleBar, Presets } from 'cli-progress';

/** A progress bar on stderr (drawn only on a terminal, so logs and tests stay clean). */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * Starts a progress bar.
 * @param label what is running
 * @param total units of work
 * @returns the bar
 */
export function startProgress(label: string, total: number): Progress {
  const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {duration_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}
