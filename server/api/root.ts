import 'server-only';
import { auditRouter } from './routers/audit';
import { fleetRouter } from './routers/fleet';
import { liveRouter } from './routers/live';
import { meRouter } from './routers/me';
import { modulesRouter } from './routers/modules';
import { overviewRouter } from './routers/overview';
import { rolloutsRouter } from './routers/rollouts';
import { signersRouter } from './routers/signers';
import { usersRouter } from './routers/users';
import { createCallerFactory, createRouter } from './trpc';

export const appRouter = createRouter({
  me: meRouter,
  modules: modulesRouter,
  signers: signersRouter,
  users: usersRouter,
  audit: auditRouter,
  fleet: fleetRouter,
  rollouts: rolloutsRouter,
  live: liveRouter,
  overview: overviewRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
