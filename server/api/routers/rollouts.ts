import 'server-only';
import { createRouter } from '../trpc';
import { changesRouter } from './rollouts/changes';
import { operateRouter } from './rollouts/operate';
import { evidenceRouter, keysRouter, webhooksRouter } from './rollouts/settings';

// Everything about changing a module's version: docs/rollouts.md.
export const rolloutsRouter = createRouter({
  changes: changesRouter,
  operate: operateRouter,
  keys: keysRouter,
  evidence: evidenceRouter,
  webhooks: webhooksRouter,
});
