'use client';
import { useEffect, useState } from 'react';
import { useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';

// A page's data by push (tRPC SSE subscription), folded event by event into local state; when the stream cannot
// get through (console down, a proxy that strips SSE) the same state is refreshed by polling, with backoff while
// the console does not answer, until the stream delivers again. TanStack Query has no "subscription with a
// polling fallback", hence this hook.

/** How long a stream may be down (or silent while connecting) before polling takes over. */
const STREAM_DOWN_MS = 4_000;
/** While polling, how often a stream that gave up is tried again. */
const RETRY_PUSH_MS = 15_000;
const MAX_POLL_MS = 30_000;

export interface LiveQuery<TState> {
  data: TState | undefined;
  /** When the data was last known good (epoch ms), null before the first. */
  updatedAt: number | null;
  mode: 'push' | 'polling';
  /** Polling, and the last poll failed too: the data is as of `updatedAt`. */
  failing: boolean;
  /** The current polling interval (grows while polls fail). */
  pollMs: number;
  /** Why there is no data at all (only before anything arrived). */
  error: string | null;
  /** The same as QueryState (components/query-state.tsx) takes it. */
  queryState: { isPending: boolean; error: { message: string } | null };
}

// tRPC's option types nest the event type in conditionals TypeScript cannot infer through; taking the options
// whole and reading the event type off their onData keeps every caller fully typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySubscriptionOptions = Parameters<typeof useSubscription<any, any>>[0];
/** What onData receives: a tracked event arrives as { id, data }. */
type Delivered<TOptions extends AnySubscriptionOptions> = Parameters<NonNullable<TOptions['onData']>>[0];

export function useLiveQuery<TOptions extends AnySubscriptionOptions, TSnapshot, TState>(opts: {
  subscription: TOptions;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fallback: UseQueryOptions<TSnapshot, any, TSnapshot, any>;
  apply: (state: NoInfer<TState> | undefined, event: Delivered<TOptions>) => NoInfer<TState> | undefined;
  fromSnapshot: (snapshot: TSnapshot) => TState;
  pollMs: number;
}): LiveQuery<TState> {
  // A page the server rendered with the fallback query prefetched (app/server-prefetch.tsx) shows that at once; the
  // stream's first event then replaces it.
  const queryClient = useQueryClient();
  const [prefetched] = useState(() => queryClient.getQueryState<TSnapshot>(opts.fallback.queryKey));
  const [data, setData] = useState<TState | undefined>(() => (prefetched?.data === undefined ? undefined : opts.fromSnapshot(prefetched.data)));
  const [updatedAt, setUpdatedAt] = useState<number | null>(prefetched?.data === undefined ? null : prefetched.dataUpdatedAt);
  const [polling, setPolling] = useState(false);
  const [failures, setFailures] = useState(0);
  const subscription = useSubscription({
    ...opts.subscription,
    onData: (event) => {
      setData((state) => opts.apply(state, event));
      setUpdatedAt(Date.now());
      setPolling(false);
      setFailures(0);
    },
  });
  const streamDown = subscription.status === 'error' || (subscription.status === 'connecting' && (subscription.error !== null || updatedAt === null));

  useEffect(() => {
    if (!streamDown || polling) return;
    const timer = setTimeout(() => setPolling(true), STREAM_DOWN_MS);
    return () => clearTimeout(timer);
  }, [streamDown, polling]);

  // A stream that ended with an error does not reconnect by itself; EventSource retries only dropped connections.
  const { reset } = subscription;
  useEffect(() => {
    if (!polling || subscription.status !== 'error') return;
    const timer = setInterval(reset, RETRY_PUSH_MS);
    return () => clearInterval(timer);
  }, [polling, subscription.status, reset]);

  const pollMs = Math.min(MAX_POLL_MS, opts.pollMs * 2 ** Math.min(failures, 4));
  const fallback = useQuery({ ...opts.fallback, enabled: polling, refetchInterval: pollMs, retry: false, refetchOnWindowFocus: false });
  // A new poll result (or failure) is folded in during render, React's pattern for state derived from a change.
  const [seenPoll, setSeenPoll] = useState({ data: prefetched?.dataUpdatedAt ?? 0, error: 0 });
  if (polling && fallback.data !== undefined && fallback.dataUpdatedAt > seenPoll.data) {
    setSeenPoll({ ...seenPoll, data: fallback.dataUpdatedAt });
    setData(opts.fromSnapshot(fallback.data));
    setUpdatedAt(fallback.dataUpdatedAt);
    setFailures(0);
  }
  if (fallback.errorUpdatedAt > seenPoll.error) {
    setSeenPoll({ ...seenPoll, error: fallback.errorUpdatedAt });
    setFailures((n) => n + 1);
  }

  const failing = polling && fallback.isError && fallback.errorUpdatedAt >= fallback.dataUpdatedAt;
  const error = data === undefined ? (fallback.error?.message ?? (subscription.status === 'error' ? subscription.error.message : null)) : null;
  const queryState = { isPending: data === undefined && error === null, error: error === null ? null : { message: error } };
  return { data, updatedAt, mode: polling ? 'polling' : 'push', failing, pollMs, error, queryState };
}
