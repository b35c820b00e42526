// The console's one time format: absolute local time "2026-12-05 05:42:10" (sortable, no locale guessing), with the
// age ("3 min ago") beside it or on hover. Pure, so server and client components and the tests share it.

export type TimeValue = Date | string | number;

const pad = (n: number) => String(n).padStart(2, '0');

function toDate(value: TimeValue): Date | null {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "2026-12-05 05:42:10" in the browser's (or server's) local time zone; "—" for a missing or unreadable time. */
export function formatAbsolute(value: TimeValue | null | undefined): string {
  const date = value == null ? null : toDate(value);
  if (!date) return '—';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** "05:42:10": for chart axes, where the day is the chart's. */
export function formatClock(value: TimeValue): string {
  return formatAbsolute(value).slice(11);
}

/** "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago", or "in 3 min" for a time still ahead. */
export function formatAge(value: TimeValue, now: number = Date.now()): string {
  const date = toDate(value);
  if (!date) return '—';
  const seconds = Math.round((now - date.getTime()) / 1000);
  const size = Math.abs(seconds);
  const text =
    size < 60 ? `${size} s` : size < 3600 ? `${Math.floor(size / 60)} min` : size < 86_400 ? `${Math.floor(size / 3600)} h` : `${Math.floor(size / 86_400)} d`;
  if (size < 5) return 'just now';
  return seconds > 0 ? `${text} ago` : `in ${text}`;
}
