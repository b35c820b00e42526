'use client';
import { useState } from 'react';
import { Fingerprint } from './fingerprint';

/**
 * A private key once it is in the page: masked, named by where it came from and its public key's fingerprint, shown
 * only on an explicit request (someone may be sharing their screen on an incident call).
 */
export function MaskedKey({ label, source, fingerprint, secret, onForget }: { label: string; source: string; fingerprint: string; secret: string; onForget?: () => void }) {
  const [revealed, setRevealed] = useState(false);
  return (
    <div className="stack" style={{ gap: 6 }}>
      <div className="key-masked" role="status" aria-label={label}>
        <span className="mono" aria-hidden="true">
          ••••
        </span>
        <span>
          {label} {source}, fingerprint <Fingerprint value={fingerprint} />
        </span>
        <button type="button" className="button secondary small" aria-expanded={revealed} onClick={() => setRevealed(!revealed)}>
          {revealed ? 'Hide private key' : 'Reveal private key'}
        </button>
        {onForget && (
          <button type="button" className="button secondary small" onClick={onForget}>
            Forget key
          </button>
        )}
      </div>
      {revealed && <pre className="mono small wrap-text panel" style={{ margin: 0 }}>{secret.trim()}</pre>}
    </div>
  );
}
