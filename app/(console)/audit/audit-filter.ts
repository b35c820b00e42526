// The audit page's filter as URL parameters (?action=&actor=&target=&from=YYYY-MM-DD&to=YYYY-MM-DD).

export const FILTER_FIELDS = ['action', 'actor', 'target', 'from', 'to'] as const;
export type AuditPageFilter = Partial<Record<(typeof FILTER_FIELDS)[number], string>>;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function filterFromParams(params: { get(name: string): string | null }): AuditPageFilter {
  const filter: AuditPageFilter = {};
  for (const name of FILTER_FIELDS) {
    const value = params.get(name)?.trim();
    if (value) filter[name] = value;
  }
  return filter;
}

/** Days are the reader's local days: from its first millisecond to the last millisecond of `to`. */
function dayStart(day: string | undefined): Date | undefined {
  if (!day || !DAY.test(day)) return undefined;
  const start = new Date(`${day}T00:00:00`);
  return Number.isNaN(start.getTime()) ? undefined : start;
}

export function queryOfFilter(filter: AuditPageFilter) {
  const from = dayStart(filter.from);
  const toStart = dayStart(filter.to);
  const to = toStart && new Date(toStart.getFullYear(), toStart.getMonth(), toStart.getDate() + 1, 0, 0, 0, -1);
  return { action: filter.action, actor: filter.actor, target: filter.target, from, to };
}

export function rangeProblem(filter: AuditPageFilter): string | null {
  for (const name of ['from', 'to'] as const) {
    if (filter[name] && !dayStart(filter[name])) return `"${name}" is not a day: use the date picker or YYYY-MM-DD.`;
  }
  const { from, to } = queryOfFilter(filter);
  if (from && to && from > to) return '"From" is after "To": pick a start day on or before the end day.';
  return null;
}
