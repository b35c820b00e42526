'use client';
import { useEffect, useState } from 'react';
import { formatClock as clock } from './time-format';

/** Now, re-read every second: ages shown next to data stay true without fetching anything. */
function useNow() {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/**
 * Says when a page is not live: polling instead of push, or the console not answering at all (the data shown is
 * then as of its last update). Nothing while push works.
 */
export function LiveNotice({ live }: { live: { mode: 'push' | 'polling'; failing: boolean; updatedAt: number | null; pollMs: number } }) {
  const now = useNow();
  if (live.mode === 'push') return null;
  const every = Math.round(live.pollMs / 1000);
  const age = live.updatedAt === null ? null : Math.max(0, Math.round((now - live.updatedAt) / 1000));
  const since = live.updatedAt === null || age === null ? 'nothing received yet' : `last update ${age} s ago`;
  if (live.failing) {
    return (
      <p role="status" className="notice warn" data-testid="live-notice">
        The console does not answer — showing the state{' '}
        {live.updatedAt === null ? 'from before' : <>as of <time dateTime={new Date(live.updatedAt).toISOString()}>{clock(live.updatedAt)}</time>, {age} s ago</>}; retrying every {every} s.
      </p>
    );
  }
  return (
    <p role="status" className="notice warn" data-testid="live-notice">
      Live updates paused — refreshing every {every} s; {since}.
    </p>
  );
}
