import type { RolloutPlan } from './change-request.types';

// The plan a new change request starts from, as planSchema.parse({}) makes it. Spelled out here, without zod, for the
// browser's propose form: zod is ~30 KB gzip of JavaScript the form would load for these numbers alone.
// default-plan.test.ts keeps it equal to the schema's defaults.
export const DEFAULT_PLAN: RolloutPlan = {
  steps: [
    { weight: 5, holdSeconds: 30 },
    { weight: 25, holdSeconds: 30 },
    { weight: 50, holdSeconds: 30 },
    { weight: 100, holdSeconds: 30 },
  ],
  analysis: { intervalSeconds: 1, windowSeconds: 10, minRequests: 20, maxErrorPercent: 1, maxErrorRatio: 2, maxP95Ratio: 1.2, p95NoiseMs: 5, maxP95Ms: 1000 },
  stepDeadlineSeconds: 300,
  rollbackWindowSeconds: 1800,
  isolation: 'process',
};
