// Helpers every benchmark shares, so that each quotes the same statistic.

/** The median (the mean of the middle two for an even count); NaN for no samples. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The items in round `r`'s order: the starting one rotates, so no contender always goes first. */
export function rotate<T>(items: readonly T[], r: number): T[] {
  const k = items.length ? r % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}
