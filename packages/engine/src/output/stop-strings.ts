/** A stop string found in the output: which one, and where to cut the text (-1: keep it whole). */
export interface StopStringMatch {
  readonly stop: string;
  readonly truncateTo: number;
}

/**
 * Looks for a stop string in the text that the last `newCharCount` characters could have completed,
 * as vLLM's `StopChecker.check_stop_strings` does: stop strings are tried in the caller's order and
 * the first that matches wins (not the earliest position).
 *
 * @param text the whole output text so far
 * @param newCharCount characters added since the last check
 * @param stops the request's stop strings
 * @param includeInOutput keep the stop string at the end of the text
 * @returns the match, or null
 */
export function findStopString(
  text: string,
  newCharCount: number,
  stops: readonly string[],
  includeInOutput: boolean,
): StopStringMatch | null {
  if (newCharCount <= 0) return null;
  for (const stop of stops) {
    // NOTE: a match must overlap the new characters, so the search starts stop.length - 1 before them.
    const from = Math.max(0, text.length - newCharCount - stop.length + 1);
    let at = text.indexOf(stop, from);
    if (at === -1) continue;
    if (includeInOutput) {
      at += stop.length;
      if (at >= text.length) return { stop, truncateTo: -1 };
    }
    return { stop, truncateTo: at };
  }
  return null;
}
