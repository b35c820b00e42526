// The console↔host contract's data: what crosses the wire as JSON between the control plane's fleet side
// (server/fleet/) and the runtime host (server/host/). Plain data only; the zod schemas beside it check each
// direction on arrival (desired-state-schema.ts at the host, report-schema.ts at the console).

export type Isolation = 'process' | 'inproc';

/** One version of a module as the control plane wants it on a host. */
export interface DesiredVersion {
  version: string;
  /** SM3 of the .so: the host fetches, re-verifies and loads exactly these bytes. */
  sm3: string;
  /** 0..100; weights of one module's versions add up to 100 (0 = loaded and warm, no traffic). */
  weight: number;
  isolation: Isolation;
  /** Passed to hp_init (text); empty by default. */
  config?: string;
  /** Serial of the signer the console verified it against, when the console says; carried into the host's events. */
  signerSerial?: string;
}

export interface DesiredModule {
  module: string;
  versions: DesiredVersion[];
  /** Per-request limit; a call that runs longer answers 504 (default 1000 ms). */
  requestTimeoutMs?: number;
  /** How long a leaving version may finish its in-flight calls (default 30 000 ms). */
  drainDeadlineMs?: number;
  /** Export state from `from` and import it into `to` with the module's requests held (promotion, rollback). */
  handOff?: { from: string; to: string; id: string };
}

export interface DesiredState {
  /** Rises with every change the control plane makes; a host applies each generation once. */
  generation: number;
  modules: DesiredModule[];
  /**
   * SM3 digests of the versions the console has revoked (absent when none): a host's local admin can never bring
   * them back, even though an earlier desired state named them (server/host/console-approvals.ts).
   */
  revoked?: string[];
}

export type VersionPhase =
  | 'loading'
  | 'initialized'
  | 'self-tested'
  | 'serving'
  | 'draining'
  | 'disposed'
  | 'failed'
  | 'crashed'
  | 'resident';

export interface LoadBreakdown {
  verifyMs?: number;
  dlopenMs?: number;
  initMs?: number;
  selfTestMs?: number;
}

/** What a host reports about one loaded (or failed) version. */
export interface VersionStatus {
  module: string;
  version: string;
  sm3: string;
  isolation: Isolation;
  phase: VersionPhase;
  weight: number;
  healthy: boolean;
  /** Why it is failed, crashed, unhealthy or resident, in words (self-test report, signal and stderr tail…). */
  reason?: string;
  selfTestReport?: string;
  load: LoadBreakdown;
  pid?: number;
  inFlight: number;
  goRuntime: boolean;
  since: string;
}

/** Per version per second. Latencies in microseconds. */
export interface MetricSample {
  module: string;
  version: string;
  /** Start of the second, ISO-8601. */
  second: string;
  requests: number;
  ok: number;
  /** 1..999 answers (HTTP 422). */
  app4xx: number;
  /** -1 answers (HTTP 500) and cell deaths (502). */
  errors5xx: number;
  timeouts: number;
  crashes: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** What a host loaded or unloaded, for the audit trail: the file, what its bytes hash to, and how it ended. */
export interface ArtifactFacts {
  path: string;
  /** Of the bytes verified right before loading; empty when the file could not be read. */
  sha256: string;
  signerSerial?: string;
  result: 'loaded' | 'refused' | 'unloaded' | 'resident';
}

export interface HostEvent {
  time: string;
  module: string;
  version?: string;
  kind: 'loaded' | 'load-failed' | 'serving' | 'unhealthy' | 'healthy' | 'hung' | 'crashed' | 'drained' | 'drain-timeout' | 'disposed' | 'resident' | 'hand-off' | 'weights';
  message: string;
  /** On serving (loaded), load-failed (refused), disposed (unloaded) and resident events. */
  artifact?: ArtifactFacts;
}

export interface HostReport {
  hostId: string;
  /** Generation of the desired state the host has fully applied. */
  appliedGeneration: number;
  startedAt: string;
  versions: VersionStatus[];
  metrics: MetricSample[];
  events: HostEvent[];
}
