'use client';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { formatTime } from '@/components/change-badges';
import { QueryState } from '@/components/query-state';

const TONE = { delivered: 'ok', failed: 'bad', pending: 'warn' } as const;

/** One webhook's deliveries, newest first: what was sent, how often it was tried, what the receiver answered. */
export function WebhookDeliveries({ id }: { id: string }) {
  const trpc = useTRPC();
  const deliveries = useQuery(trpc.rollouts.webhooks.deliveries.queryOptions({ id }, { refetchInterval: 2_000 }));
  return (
    <QueryState isPending={deliveries.isPending} error={deliveries.error}>
      {() =>
        deliveries.data!.deliveries.length === 0 ? (
          <p className="muted small">Nothing sent yet.</p>
        ) : (
          <div className="table-wrap">
            <table aria-label="Deliveries">
              <thead>
                <tr>
                  <th>Queued</th>
                  <th>Event</th>
                  <th>State</th>
                  <th>Attempts</th>
                  <th>Status code</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {deliveries.data!.deliveries.map((d) => (
                  <tr key={d.id} data-delivery={d.id} data-state={d.state}>
                    <td className="small">{formatTime(d.createdAt)}</td>
                    <td className="mono">{d.kind}</td>
                    <td>
                      <span className={`badge ${TONE[d.state]}`}>{d.state}</span>
                      {d.state === 'pending' && d.nextAttemptAt && <span className="small muted"> next try {formatTime(d.nextAttemptAt)}</span>}
                    </td>
                    <td>{d.attempts}</td>
                    <td>{d.lastStatus ?? '—'}</td>
                    <td className="small">{d.lastError ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      }
    </QueryState>
  );
}
