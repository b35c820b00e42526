// Where the console serves its hosts, and the names both sides use on those requests. The console's routes and the
// host's agent take them from here, so neither can drift from the other.

const ARTIFACT_PREFIX = '/api/fleet/artifacts/';

export const FLEET_PATHS = {
  /** POST {"joinToken", "csr"}: the one route answered without a client certificate (docs/fleet.md#host-identity). */
  enrol: '/api/fleet/enrol',
  /** POST {"csr"} over mutual TLS: a new certificate for the host the current one names. */
  renew: '/api/fleet/renew',
  /** GET: the desired state (ETag, If-None-Match, and the long-poll `?wait=` in seconds). */
  desiredState: '/api/fleet/desired-state',
  /** POST: a HostReport (report-schema.ts). */
  report: '/api/fleet/report',
  /** POST: a HostBreakGlass (break-glass.ts) the host made while no console answered; sent before its next pull. */
  breakGlass: '/api/fleet/break-glass',
  /** GET: the bytes of one accepted artifact, by its SM3. */
  artifact: (sm3: string) => `${ARTIFACT_PREFIX}${sm3}`,
  artifactPrefix: ARTIFACT_PREFIX,
} as const;

export const FLEET_HEADERS = {
  authorization: 'authorization',
  ifNoneMatch: 'if-none-match',
  etag: 'etag',
  /** On an artifact: which module and version the bytes are. */
  module: 'x-hotplane-module',
  version: 'x-hotplane-version',
} as const;

/**
 * The long-poll: a desired-state request whose If-None-Match is the current tag and which carries `?wait=S` is held
 * until the tag changes (200 with the new state) or S seconds pass (304). S above the maximum is clamped to it, so
 * a host's wait always ends before common proxy idle timeouts (60 s).
 */
export const LONG_POLL = {
  param: 'wait',
  maxSeconds: 50,
  /** What the host asks for. */
  hostSeconds: 25,
} as const;
