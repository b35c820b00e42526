'use client';
import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { useMutation } from '@tanstack/react-query';
import { useLiveModuleMetrics, useLiveModuleRuntime } from '@/app/live-queries';
import { useTRPC } from '@/app/trpc';
import { DesiredVersionsForm, type ProposedChange } from '@/components/desired-versions-form';
import { HostEventsList } from '@/components/host-events-list';
import { LiveNotice } from '@/components/live-notice';
import { ModuleZonesTable } from '@/components/module-zones-table';
import { QueryState } from '@/components/query-state';
import { HealthBadge } from '@/components/runtime-badges';
import { RuntimeCharts } from '@/components/runtime-charts';
import { RuntimeVersionsTable } from '@/components/runtime-versions-table';
import { formatAbsolute } from '@/components/time';

const WINDOWS = [
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 900, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
];

export function RuntimeSection({ name, canPropose }: { name: string; canPropose: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [seconds, setSeconds] = useState(300);
  // By push: the runtime's changed hosts and the charts' new seconds only (app/live-queries.ts).
  const live = useLiveModuleRuntime(name);
  const metrics = useLiveModuleMetrics(name, seconds);
  // Nothing changes on submit: the change request opens, for a second person to approve.
  const propose = useMutation(trpc.rollouts.changes.proposeDesired.mutationOptions({ onSuccess: (row) => router.push(`/changes/${row.id}`) }));
  const proposeChange = (value: ProposedChange) => propose.mutate({ module: name, ...value });

  return (
    <section aria-labelledby="runtime-heading" className="stack">
      <h2 id="runtime-heading">Runtime</h2>
      <LiveNotice live={[live, metrics].find((l) => l.failing) ?? [live, metrics].find((l) => l.mode === 'polling') ?? live} />
      <QueryState {...live.queryState}>
        {() => {
          const r = { ...live.data!.meta, hosts: live.data!.rows };
          return (
            <>
              <p className="muted small">
                Desired generation {r.generation}
                {r.desired
                  ? ` · set by ${r.desired.updatedBy} at ${formatAbsolute(r.desired.updatedAt)}`
                  : ' · not loaded on any host'}
              </p>
              {r.health.length > 0 && (
                <ul className="plain-list" aria-label="Health per desired version">
                  {r.health.map((h) => (
                    <li key={h.version}>
                      <span className="mono">{h.version}</span> {r.desired!.versions.find((v) => v.version === h.version)?.weight}% ·{' '}
                      <HealthBadge state={h.state} reason={h.reason} />
                    </li>
                  ))}
                </ul>
              )}
              {r.zones.length > 0 && (
                <>
                  <h3>By zone</h3>
                  <ModuleZonesTable zones={r.zones} />
                </>
              )}
              <h3>On each host</h3>
              <RuntimeVersionsTable hosts={r.hosts} generation={r.generation} />
              {canPropose && r.hotUpgradable && (
                <>
                  <h3>Propose a change</h3>
                  <DesiredVersionsForm
                    key={r.desired ? String(r.desired.updatedAt) : 'none'}
                    module={name}
                    candidates={r.candidates}
                    current={r.desired}
                    pending={propose.isPending}
                    error={propose.error?.message ?? null}
                    onSubmit={proposeChange}
                    onUnload={(reason) => propose.mutate({ module: name, versions: [], reason })}
                  />
                </>
              )}
            </>
          );
        }}
      </QueryState>
      <div className="row">
        <h3 style={{ margin: 0 }}>Live metrics</h3>
        <label className="checkbox">
          Window
          <select value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
            {WINDOWS.map((w) => (
              <option key={w.seconds} value={w.seconds}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <QueryState {...metrics.queryState}>
        {() => <RuntimeCharts versions={metrics.data!.chart!.versions} markers={metrics.data!.markers} window={metrics.data!.chart!} />}
      </QueryState>
      <h3>Host events</h3>
      <QueryState {...live.queryState}>
        {() => <HostEventsList events={live.data!.meta.events} />}
      </QueryState>
    </section>
  );
}
