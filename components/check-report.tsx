import { CHECK_TITLES, type CheckResult } from '@/server/artifacts/checks';

export function CheckReport({ checks }: { checks: CheckResult[] }) {
  return (
    <div className="table-wrap">
      <table aria-label="Verification report">
        <thead>
          <tr>
            <th>Check</th>
            <th>Result</th>
            <th>Detail</th>
            <th style={{ textAlign: 'right' }}>ms</th>
          </tr>
        </thead>
        <tbody>
          {checks.map((c) => (
            <tr key={c.check} data-check={c.check} data-status={c.status}>
              <td>{CHECK_TITLES[c.check] ?? c.check}</td>
              <td>
                <span className={`badge ${c.status}`}>{c.status}</span>
              </td>
              <td className={c.check === 'class-policy' && c.status === 'fail' ? 'redline-box' : undefined}>{c.detail}</td>
              <td className="mono" style={{ textAlign: 'right' }}>
                {c.durationMs.toFixed(1)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
