'use client';
import { useEffect, useState } from 'react';

function remaining(ms: number) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** An open circuit breaker: why rollouts of the module are refused and how long until they are not. */
export function BreakerCountdown({ module, until, reason, children }: { module: string; until: number; reason: string | null; children?: React.ReactNode }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <div className="redline-box row" role="status" aria-label={`Circuit breaker of ${module}`}>
      <span>
        <strong>Circuit breaker open</strong> — new rollouts of {module} are refused for <span className="countdown">{remaining(until - now)}</span>
        {reason && <span className="muted"> ({reason})</span>}
      </span>
      <span className="spacer" />
      {children}
    </div>
  );
}
