import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { digestArtifactFile, parsePublicKey } from '../crypto';
import { CHECK_TITLES } from '../artifacts/checks';
import { identityProbe } from '../artifacts/identity-probe';
import { verifyArtifact } from '../artifacts/verify-artifact';
import { loadConfig } from '../config';
import { parseCommandArgs, requireOption } from './args';

// Offline: the one public key given stands in for the signer registry (valid now, allowed for any module).
// --probe also loads the .so in a throwaway child, as an upload does, to compare its identity with the manifest.
export async function verifyCommand(args: string[]) {
  const { values, positionals } = parseCommandArgs(
    args,
    { manifest: { type: 'string' }, sig: { type: 'string' }, pubkey: { type: 'string' }, json: { type: 'boolean', default: false }, probe: { type: 'boolean', default: false } },
    1,
  );
  const so = positionals[0];
  const manifestPath = values.manifest ?? `${so}.manifest.json`;
  const signaturePath = values.sig ?? `${so}.manifest.sig`;
  const key = parsePublicKey(await readFile(requireOption(values, 'pubkey'), 'utf8'));
  const digest = await digestArtifactFile(so);
  const result = await verifyArtifact({
    soPath: so,
    fileNames: { so: path.basename(so), manifest: path.basename(manifestPath), signature: path.basename(signaturePath) },
    received: digest,
    manifestBytes: await readFile(manifestPath),
    signatureBytes: await readFile(signaturePath),
    signers: [
      {
        id: 'cli',
        name: `key ${key.fingerprint.slice(0, 16)}`,
        subjectDn: '(given with --pubkey)',
        fingerprint: key.fingerprint,
        allowedModules: ['*'],
        notBefore: new Date(0),
        notAfter: new Date(8.64e15),
        revokedAt: null,
        revocationReason: null,
        key,
      },
    ],
    forbiddenExportPatterns: loadConfig().forbiddenExportPatterns,
    identityProbe: values.probe ? identityProbe(loadConfig().identityProbeMs) : undefined,
  });
  if (values.json) {
    console.log(JSON.stringify({ outcome: result.outcome, message: result.message, checks: result.checks }, null, 2));
  } else {
    for (const c of result.checks) console.log(`${c.status.toUpperCase().padEnd(4)}  ${CHECK_TITLES[c.check].padEnd(44)} ${c.detail}`);
    const failed = result.checks.filter((c) => c.status === 'fail');
    console.log(failed.length ? `\n${failed.length} check(s) failed: ${failed.map((c) => c.check).join(', ')}` : '\nverified: every check passed');
  }
  return result.outcome === 'rejected' ? 1 : 0;
}
