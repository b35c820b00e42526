import type { AuditVerification } from '@/server/audit/trail-verifier';

export function AuditVerdict({ result }: { result: AuditVerification }) {
  return (
    <div className={result.ok ? 'notice' : 'error'} role="status" data-testid="audit-verdict">
      <strong>{result.ok ? 'Audit trail intact.' : `Audit trail TAMPERED — first bad seq ${result.firstBadSeq ?? '(checkpoints)'}.`}</strong>{' '}
      {result.eventsChecked} events and {result.checkpointsTrusted}/{result.checkpointsChecked} checkpoints checked in {result.durationMs.toFixed(0)} ms;
      signed checkpoints cover seq 1–{result.checkpointedThroughSeq} of {result.headSeq}
      {result.recorded && ` (the database records ${result.recorded.count} checkpoints through seq ${result.recorded.throughSeq})`}.
      {result.uncoveredFromSeq !== null && ` Events ${result.uncoveredFromSeq}–${result.headSeq} are not yet covered by a checkpoint: they rest on the hash chain alone.`}
      {result.problems.length > 0 && (
        <ul>
          {result.problems.map((p, i) => (
            <li key={i}>
              <code>{p.kind}</code> {p.seq !== null && `at seq ${p.seq}${p.throughSeq ? `–${p.throughSeq}` : ''}`}: {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
