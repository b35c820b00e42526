'use client';
import { useEffect, useState } from 'react';
import { fingerprintOfPublicPoint } from '@/app/approval-signing';
import { MaskedKey } from '@/components/masked-key';
import { generateSm2KeyPair } from '@/server/crypto/sm2';

interface Generated {
  privateKeyPem: string;
  fingerprint: string;
  downloadUrl: string;
}

/**
 * Makes an SM2 key pair with the browser's CSPRNG. The public key goes into the registration form; the private key
 * is offered as a file to save, masked on screen — it is never sent to the console.
 */
export function KeyPairGenerator({ onPublicKey }: { onPublicKey: (publicKeyPem: string) => void }) {
  const [generated, setGenerated] = useState<Generated | null>(null);
  useEffect(() => () => {
    if (generated) URL.revokeObjectURL(generated.downloadUrl);
  }, [generated]);

  function generate() {
    const pair = generateSm2KeyPair();
    setGenerated({
      privateKeyPem: pair.privateKeyPem,
      fingerprint: fingerprintOfPublicPoint(pair.publicKeyHex),
      downloadUrl: URL.createObjectURL(new Blob([pair.privateKeyPem], { type: 'application/x-pem-file' })),
    });
    onPublicKey(pair.publicKeyPem);
  }

  return (
    <div className="stack">
      <div>
        <button type="button" className="button secondary" onClick={generate}>
          Generate a key pair in this browser
        </button>
      </div>
      {generated && (
        <div className="notice stack" style={{ gap: 6 }}>
          <MaskedKey label="Private key" source="generated in this page" fingerprint={generated.fingerprint} secret={generated.privateKeyPem} />
          <p style={{ margin: 0 }}>
            The public key is in the form below.{' '}
            <a href={generated.downloadUrl} download="hotplane-approval-key.pem">
              Download the private key (PEM)
            </a>{' '}
            and keep it safe: it exists only in this page and is never sent to the console.
          </p>
        </div>
      )}
    </div>
  );
}
