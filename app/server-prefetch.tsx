import 'server-only';
import { dehydrate, HydrationBoundary, QueryClient } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { headers } from 'next/headers';
import { cache, type ReactNode } from 'react';
import { appRouter } from '@/server/api/root';
import { createContext } from '@/server/api/trpc';

// A page's first data in its HTML: the server runs the page's queries (with the request's session, through the same
// procedures and permission checks as /api/trpc) and the client's cache starts with their answers. Without it a
// cold load waits for the JavaScript, then hydration, then a round trip per level of nested queries.

const requestQueryClient = cache(() => new QueryClient({ defaultOptions: { queries: { staleTime: 1_000 } } }));

/** The tRPC query options of this request, for `prefetch` (same query keys as the browser's `useTRPC()`). */
export const serverTrpc = cache(async () => {
  const context = createContext({ headers: await headers() });
  return createTRPCOptionsProxy({ ctx: () => context, router: appRouter, queryClient: requestQueryClient });
});

/**
 * Runs the queries at once (`client.prefetchQuery(trpc.x.queryOptions(...))` each); a query that fails (a missing
 * right, say) is left to the browser, which shows why.
 */
export async function prefetch(queries: (client: QueryClient) => Promise<void>[]): Promise<void> {
  await Promise.all(queries(requestQueryClient()));
}

/** Hands the prefetched answers to the browser's query cache. JSON as /api/trpc sends it (dates as strings). */
export function Prefetched({ children }: { children: ReactNode }) {
  const state = JSON.parse(JSON.stringify(dehydrate(requestQueryClient()))) as ReturnType<typeof dehydrate>;
  return <HydrationBoundary state={state}>{children}</HydrationBoundary>;
}
