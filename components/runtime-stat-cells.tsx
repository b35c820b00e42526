import { HealthBadge } from '@/components/runtime-badges';
import type { Health } from '@/server/fleet/health';

export interface RuntimeStats {
  health: Health;
  rps: number;
  errorPercent: number | null;
}

/** A module's health, requests/s and error share as three table cells; a dash in each while nothing is known. */
export function RuntimeStatCells({ runtime }: { runtime: RuntimeStats | undefined }) {
  if (!runtime) {
    return (
      <>
        <td>—</td>
        <td>—</td>
        <td>—</td>
      </>
    );
  }
  return (
    <>
      <td>
        <HealthBadge state={runtime.health.state} reason={runtime.health.reason} />
      </td>
      <td>{runtime.rps.toFixed(1)}</td>
      <td>{runtime.errorPercent === null ? '—' : `${runtime.errorPercent.toFixed(1)} %`}</td>
    </>
  );
}
