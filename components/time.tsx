import { formatAbsolute, formatAge, type TimeValue } from './time-format';

export { formatAbsolute, formatAge, formatClock } from './time-format';

/**
 * A time as the console shows it everywhere: absolute local time, the age on hover (or beside it with `age`).
 * The age is as of rendering; server and browser may disagree on both, hence suppressHydrationWarning.
 */
export function Time({ value, age = false, fallback = '—' }: { value: TimeValue | null | undefined; age?: boolean; fallback?: string }) {
  if (value == null || formatAbsolute(value) === '—') return <>{fallback}</>;
  const iso = new Date(value).toISOString();
  const ago = formatAge(value);
  return (
    <time dateTime={iso} title={age ? iso : ago} className="time" suppressHydrationWarning>
      {formatAbsolute(value)}
      {age && <span className="muted"> ({ago})</span>}
    </time>
  );
}
