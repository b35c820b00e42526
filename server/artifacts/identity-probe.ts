import { probeModuleIdentity } from '../rollout/preflight';
import type { Manifest } from './manifest';

// Before a version is accepted, the .so says who it is: a child process (never the console itself) loads it and
// answers hp_abi_version, hp_module_name and hp_module_version, which must equal the signed manifest. Stops another
// module's code, signed and labelled "ledger 9.0.0", from entering ledger's version line.
export function identityProbe(limitMs: number) {
  return async (soPath: string, manifest: Manifest): Promise<{ ok: boolean; detail: string }> => {
    const result = await probeModuleIdentity({ path: soPath, module: manifest.module, version: manifest.version, limitMs });
    return result.ok
      ? { ok: true, detail: `${result.report}, as the manifest says` }
      : { ok: false, detail: `the module is not what its manifest says: ${result.report}; build the module whose name and version the manifest gives, or fix the manifest and sign it again` };
  };
}
