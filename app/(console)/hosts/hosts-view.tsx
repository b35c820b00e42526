'use client';
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { HostsTable, type HostRow } from '@/components/hosts-table';
import { QueryState } from '@/components/query-state';
import { RegisterHostForm } from '@/components/register-host-form';

export function HostsView({ canManage, canSwitchDemoTraffic }: { canManage: boolean; canSwitchDemoTraffic: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const hosts = useQuery(trpc.fleet.hosts.queryOptions(undefined, { refetchInterval: 2_000 }));
  const demo = useQuery(trpc.fleet.demoTraffic.queryOptions(undefined, { refetchInterval: 2_000 }));
  const [issued, setIssued] = useState<{ name: string; token: string } | null>(null);
  const refreshHosts = () => queryClient.invalidateQueries({ queryKey: trpc.fleet.hosts.queryKey() });
  const register = useMutation(
    trpc.fleet.registerHost.mutationOptions({
      onSuccess: (host) => {
        setIssued({ name: host.name, token: host.joinToken });
        return refreshHosts();
      },
    }),
  );
  const revoke = useMutation(trpc.fleet.revokeHost.mutationOptions({ onSuccess: refreshHosts }));
  const move = useMutation(trpc.fleet.setHostZone.mutationOptions({ onSuccess: refreshHosts }));
  const switchDemo = useMutation(
    trpc.fleet.setDemoTraffic.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.fleet.demoTraffic.queryKey() }) }),
  );
  const error = register.error ?? revoke.error ?? move.error ?? switchDemo.error;

  function askRevoke(host: HostRow) {
    if (window.confirm(`Revoke host "${host.name}"? Its token stops working at once; it keeps serving its last desired state.`)) {
      revoke.mutate({ hostId: host.id });
    }
  }

  function askMove(host: HostRow) {
    const zone = window.prompt(`Zone of "${host.name}" (it is then sent that zone's desired state):`, host.zone);
    if (zone === null) return;
    const group = window.prompt(`Group of "${host.name}" (empty for none):`, host.group ?? '');
    if (group === null) return;
    move.mutate({ hostId: host.id, zone: zone.trim(), group: group.trim() || null });
  }

  return (
    <div className="stack">
      {error && <p role="alert" className="error">{error.message}</p>}
      <QueryState isPending={hosts.isPending} error={hosts.error}>
        {() => {
          const h = hosts.data!;
          return (
            <>
              <p className="muted small">
                Desired generation {h.generation} · zones {h.zones.join(', ') || '—'} · a host lags when silent or {h.lagSeconds} s behind the generation ·{' '}
                {h.hosts.filter((x) => x.lag.lagging).length} lagging
              </p>
              <HostsTable hosts={h.hosts} generation={h.generation} onRevoke={canManage ? askRevoke : undefined} onMove={canManage ? askMove : undefined} />
              {h.embeddedHost && (
                <section className="panel stack" aria-label="Embedded host">
                  <strong>Embedded host process</strong>
                  <dl className="kv small">
                    <dt>State</dt>
                    <dd>
                      {h.embeddedHost.state}
                      {h.embeddedHost.pid !== null && ` (pid ${h.embeddedHost.pid})`}
                    </dd>
                    <dt>Invoke API</dt>
                    <dd className="mono">{h.embeddedHost.invokeUrl}/v1/invoke/&lt;module&gt;</dd>
                    <dt>Restarts</dt>
                    <dd>{h.embeddedHost.restarts}</dd>
                    <dt>Last exit</dt>
                    <dd>{h.embeddedHost.lastExit ?? '—'}</dd>
                  </dl>
                </section>
              )}
            </>
          );
        }}
      </QueryState>
      {demo.data && (
        <section className="panel stack" aria-label="Demo traffic">
          <div className="row">
            <strong>Demo traffic</strong>
            <span className={`badge ${demo.data.enabled ? 'ok' : ''}`}>{demo.data.enabled ? 'on' : 'off'}</span>
            <span className="muted small">
              {demo.data.ratePerSecond} requests/s to {demo.data.modules.join(', ') || 'no module with a request generator'} · sent {demo.data.sent} · ok{' '}
              {demo.data.answered.ok} · application {demo.data.answered.application} · fault {demo.data.answered.fault} · unreachable {demo.data.answered.unreachable}
            </span>
            <div className="spacer" />
            {canSwitchDemoTraffic && (
              <button type="button" className="button secondary small" disabled={switchDemo.isPending}
                onClick={() => switchDemo.mutate({ enabled: !demo.data!.enabled })}
              >
                {demo.data.enabled ? 'Stop demo traffic' : 'Start demo traffic'}
              </button>
            )}
          </div>
          {demo.data.lastError && <p className="muted small">Last error: {demo.data.lastError}</p>}
        </section>
      )}
      {canManage && (
        <>
          <h2>Register a remote host</h2>
          {issued && (
            <div className="notice stack" role="status">
              <span>
                Copy this join token now, it is shown only once and enrols the host once, within the hour:{' '}
                <code data-testid="new-host-token">{issued.token}</code>
              </span>
              <span className="small">
                Save it in a file only the host&apos;s user can read (<code>chmod 600 join-token</code>), copy the console&apos;s fleet CA
                certificate (<code>npx hotplane fleet-ca</code> on the console) to the host, then start it with{' '}
                <code>
                  npx hotplane host --control-plane https://{typeof window === 'undefined' ? '' : window.location.hostname}:7443 --console-ca fleet-ca.pem --join-token-file join-token
                </code>{' '}
                (or set <code>HOTPLANE_JOIN_TOKEN</code>; never put the token on the command line, where <code>ps</code> shows it).
              </span>
            </div>
          )}
          <RegisterHostForm pending={register.isPending} onRegister={(input) => register.mutate(input)} />
        </>
      )}
    </div>
  );
}
