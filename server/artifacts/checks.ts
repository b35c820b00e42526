// The verification report: every check, in pipeline order, with its outcome, detail and duration.

export const CHECK_NAMES = [
  'file-names',
  'size-limit',
  'digest',
  'signature',
  'manifest',
  'signer',
  'file-match',
  'expiry',
  'elf-format',
  'elf-machine',
  'abi-exports',
  'forbidden-exports',
  'needed-libraries',
  'static-tls',
  'go-runtime',
  'class-policy',
  'version-policy',
  'identity',
  'store',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  detail: string;
  durationMs: number;
}

export const CHECK_TITLES: Record<CheckName, string> = {
  'file-names': 'File names',
  'size-limit': 'Size limit',
  digest: 'SM3 + SHA-256 digest',
  signature: 'SM2 signature over the manifest bytes',
  manifest: 'Manifest v1',
  signer: 'Signer registered, valid and allowed',
  'file-match': 'File size and digests equal the manifest',
  expiry: 'Manifest not expired',
  'elf-format': 'ELF64 little-endian shared object',
  'elf-machine': 'Built for this machine',
  'abi-exports': 'Module ABI v1 exports present',
  'forbidden-exports': 'No forbidden export',
  'needed-libraries': 'Every needed library resolvable',
  'static-tls': 'No static TLS',
  'go-runtime': 'Go runtime detection',
  'class-policy': 'Class may be hot-upgraded',
  'version-policy': 'Version rises above every accepted version',
  identity: 'Loaded in a throwaway probe: ABI, name and version equal the manifest',
  store: 'Stored once per artifact and module version',
};

// Collects results while timing each check; a check may be skipped when an earlier one it needs failed.
export class CheckRecorder {
  readonly results: CheckResult[] = [];

  async run(check: CheckName, body: () => Promise<{ ok: boolean; detail: string }> | { ok: boolean; detail: string }) {
    const started = performance.now();
    const outcome = await body();
    this.results.push({ check, status: outcome.ok ? 'pass' : 'fail', detail: outcome.detail, durationMs: performance.now() - started });
    return outcome.ok;
  }

  record(check: CheckName, status: CheckStatus, detail: string, durationMs = 0) {
    this.results.push({ check, status, detail, durationMs });
  }

  skip(check: CheckName, because: string) {
    this.record(check, 'skip', `not checked: ${because}`);
  }

  firstFailure(): CheckResult | undefined {
    return this.results.find((r) => r.status === 'fail');
  }
}
