'use client';
import { useEffect, useState } from 'react';
import type { StepClock } from '@/server/rollout/request-view';
import { formatClock as clockTime } from './time-format';

function left(ms: number) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s` : `${seconds} s`;
}

/** The browser's clock set to the server's: the server sends its time with each update, the page ticks between them. */
function useServerNow(serverTime: number) {
  const [skew] = useState(() => serverTime - Date.now());
  const [now, setNow] = useState(() => Date.now() + skew);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() + skew), 1_000);
    return () => clearInterval(timer);
  }, [skew]);
  return now;
}

/** Where the current step's hold stands, counted down in the page, and what happens when it ends. */
export function StepCountdown({ clock, serverTime }: { clock: StepClock; serverTime: number }) {
  const now = useServerNow(serverTime);
  const then = clock.next ? `step ${clock.next.step} (${clock.next.weight} %)` : 'promotion to 100 % stable';
  const deadline = clock.deadlineAt !== null && <span className="muted"> · deadline {clockTime(clock.deadlineAt)}</span>;
  let text: React.ReactNode;
  switch (clock.phase) {
    case 'not-started':
      text = <span className="muted">Not started.</span>;
      break;
    case 'finished':
      text = <span className="muted">Finished.</span>;
      break;
    case 'paused':
      text = (
        <>
          <strong>Paused</strong>
          {clock.pausedAt !== null && ` since ${clockTime(clock.pausedAt)}`}; resuming starts the {clock.holdSeconds} s hold afresh.
        </>
      );
      break;
    case 'confirming':
      text = (
        <>
          Waiting for the hosts to confirm {clock.weight ?? 0} %{deadline}
        </>
      );
      break;
    case 'holding':
      text =
        clock.holdEndsAt !== null && clock.holdEndsAt > now ? (
          <>
            Hold ends in <span className="countdown" data-testid="hold-left">{left(clock.holdEndsAt - now)}</span> (at {clockTime(clock.holdEndsAt)}); then {then} if the
            verdict passes{deadline}
          </>
        ) : (
          <>
            Hold over since {clock.holdEndsAt !== null ? clockTime(clock.holdEndsAt) : '—'}: {then} on the next passing verdict{deadline}
          </>
        );
      break;
  }
  return (
    <p className="small" style={{ margin: 0 }} role="timer" aria-label="Step hold" data-phase={clock.phase}>
      {text}
    </p>
  );
}
