import { config } from '@/server/config';

// Shown on every console page while the audit signing key is a file in the data folder (no PKCS#11 token).
export function FileKeyBanner() {
  if (config().auditPkcs11) return null;
  return (
    <p role="alert" className="error" data-testid="file-key-banner">
      The audit signing key is a file in the data folder: anyone who can read that folder can sign audit checkpoints and
      evidence as this console. Configure a PKCS#11 token (HOTPLANE_PKCS11_MODULE; <code>npm start</code> does it when
      softhsm2 is installed).
    </p>
  );
}
