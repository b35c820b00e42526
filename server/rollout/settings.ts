import { DEFAULT_BREAKER, type BreakerSettings } from './circuit-breaker';

// The control plane's rollout settings (what a change request's plan does not carry), from the environment.

export interface RolloutSettings {
  /** How often the engine looks at every running rollout. */
  tickMs: number;
  approvalTtlMs: number;
  breaker: BreakerSettings;
  /** Length of each of the three metric snapshots before and after a rollout, for its evidence bundle. */
  snapshotSeconds: number;
  /** hp_self_test limit in the preflight probe. */
  preflightSelfTestMs: number;
  webhookMaxAttempts: number;
  /** First retry after this long, doubling each time. */
  webhookRetryMs: number;
  /** A break-glass opens a post-incident review due this long after; an overdue one is escalated once. */
  reviewDeadlineMs: number;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw} is not a positive number; unset it or give one`);
  return value;
}

export function loadRolloutSettings(env: NodeJS.ProcessEnv = process.env): RolloutSettings {
  return {
    tickMs: positiveNumber(env, 'HOTPLANE_ROLLOUT_TICK_MS', 250),
    approvalTtlMs: positiveNumber(env, 'HOTPLANE_APPROVAL_TTL_MS', 24 * 3_600_000),
    breaker: {
      ...DEFAULT_BREAKER,
      consecutiveFailures: positiveNumber(env, 'HOTPLANE_BREAKER_CONSECUTIVE', DEFAULT_BREAKER.consecutiveFailures),
      openMs: positiveNumber(env, 'HOTPLANE_BREAKER_OPEN_MS', DEFAULT_BREAKER.openMs),
    },
    snapshotSeconds: positiveNumber(env, 'HOTPLANE_EVIDENCE_SNAPSHOT_SECONDS', 10),
    preflightSelfTestMs: 10_000,
    webhookMaxAttempts: positiveNumber(env, 'HOTPLANE_WEBHOOK_MAX_ATTEMPTS', 8),
    webhookRetryMs: positiveNumber(env, 'HOTPLANE_WEBHOOK_RETRY_MS', 1_000),
    reviewDeadlineMs: positiveNumber(env, 'HOTPLANE_REVIEW_DEADLINE_MS', 24 * 3_600_000),
  };
}

let cached: RolloutSettings | undefined;

export function rolloutSettings(): RolloutSettings {
  cached ??= loadRolloutSettings();
  return cached;
}
