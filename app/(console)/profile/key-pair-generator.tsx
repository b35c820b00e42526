'use client';
import { useEffect, useState } from 'react';
import { generateSm2KeyPair } from '@/server/crypto/sm2';

/**
 * Makes an SM2 key pair with the browser's CSPRNG. The public key goes into the registration form; the private key
 * is offered only as a file to save — it is never sent to the console.
 */
export function KeyPairGenerator({ onPublicKey }: { onPublicKey: (publicKeyPem: string) => void }) {
  const [privateKeyUrl, setPrivateKeyUrl] = useState<string | null>(null);
  useEffect(() => () => {
    if (privateKeyUrl) URL.revokeObjectURL(privateKeyUrl);
  }, [privateKeyUrl]);

  function generate() {
    const pair = generateSm2KeyPair();
    setPrivateKeyUrl(URL.createObjectURL(new Blob([pair.privateKeyPem], { type: 'application/x-pem-file' })));
    onPublicKey(pair.publicKeyPem);
  }

  return (
    <div className="row">
      <button type="button" className="button secondary" onClick={generate}>
        Generate a key pair in this browser
      </button>
      {privateKeyUrl && (
        <p className="notice" role="status">
          The public key is in the form below.{' '}
          <a href={privateKeyUrl} download="hotplane-approval-key.pem">
            Download the private key (PEM)
          </a>{' '}
          and keep it safe: it exists only in this page and is never sent to the console.
        </p>
      )}
    </div>
  );
}
