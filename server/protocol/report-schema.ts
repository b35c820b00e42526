import { z } from 'zod';
import type { HostEvent, HostReport, MetricSample, VersionStatus } from './wire-types';

// The zod face of HostReport (wire-types.ts): what the console accepts at FLEET_PATHS.report. Typed against the wire
// types, so a change there that this schema does not follow fails the typecheck.

const timestamp = z.string().max(40).refine((text) => !Number.isNaN(Date.parse(text)), 'not an ISO-8601 time');
const name = z.string().min(1).max(200);
const count = z.number().int().min(0);
const nonNegative = z.number().min(0);

const versionStatus = z.object({
  module: name,
  version: name,
  sm3: z.string().max(64),
  isolation: z.enum(['process', 'inproc']),
  phase: z.enum(['loading', 'initialized', 'self-tested', 'serving', 'draining', 'disposed', 'failed', 'crashed', 'resident']),
  weight: z.number().min(0).max(100),
  healthy: z.boolean(),
  reason: z.string().max(8_192).optional(),
  selfTestReport: z.string().max(16_384).optional(),
  load: z.object({ verifyMs: nonNegative.optional(), dlopenMs: nonNegative.optional(), initMs: nonNegative.optional(), selfTestMs: nonNegative.optional() }),
  pid: z.number().int().optional(),
  inFlight: count,
  goRuntime: z.boolean(),
  since: timestamp,
}) satisfies z.ZodType<VersionStatus>;

const metricSample = z.object({
  module: name,
  version: name,
  second: timestamp,
  requests: count,
  ok: count,
  app4xx: count,
  errors5xx: count,
  timeouts: count,
  crashes: count,
  p50: nonNegative,
  p95: nonNegative,
  p99: nonNegative,
  max: nonNegative,
}) satisfies z.ZodType<MetricSample>;

const hostEvent = z.object({
  time: timestamp,
  module: name,
  version: name.optional(),
  kind: z.enum(['loaded', 'load-failed', 'serving', 'unhealthy', 'healthy', 'hung', 'crashed', 'drained', 'drain-timeout', 'disposed', 'resident', 'hand-off', 'weights']),
  message: z.string().max(8_192),
  artifact: z
    .object({
      path: z.string().max(4_096),
      sha256: z.string().regex(/^([0-9a-f]{64})?$/, 'a SHA-256 is 64 lower-case hex digits'),
      signerSerial: z.string().max(200).optional(),
      result: z.enum(['loaded', 'refused', 'unloaded', 'resident']),
    })
    .optional(),
}) satisfies z.ZodType<HostEvent>;

export const hostReportSchema = z.object({
  hostId: name,
  appliedGeneration: z.number().int().min(-1),
  startedAt: timestamp,
  versions: z.array(versionStatus).max(1_000),
  metrics: z.array(metricSample).max(20_000),
  events: z.array(hostEvent).max(2_000),
}) satisfies z.ZodType<HostReport>;

export const MAX_REPORT_BYTES = 2 * 1024 * 1024;
