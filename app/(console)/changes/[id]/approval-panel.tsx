'use client';
import { useState, type ChangeEvent } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { publicKeyOfPrivate, signChangeDigest } from '@/app/approval-signing';
import { ReasonDialog } from '@/components/reason-dialog';

/**
 * The approver's sign-off: read the canonical text, load the private key (file or paste; held in this component's
 * memory only, never sent), sign the digest in the browser, send only the signature.
 */
export function ApprovalPanel({ id, revision, onDone }: { id: string; revision: number; onDone: () => void }) {
  const trpc = useTRPC();
  const digest = useQuery(trpc.rollouts.changes.digest.queryOptions({ id }));
  const [privateKey, setPrivateKey] = useState('');
  const [keyProblem, setKeyProblem] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const approve = useMutation(trpc.rollouts.changes.approve.mutationOptions({ onSuccess: () => { setPrivateKey(''); onDone(); } }));
  const reject = useMutation(trpc.rollouts.changes.reject.mutationOptions({ onSuccess: () => { setRejecting(false); onDone(); } }));

  let publicKey: string | null = null;
  if (privateKey.trim()) {
    try {
      publicKey = publicKeyOfPrivate(privateKey);
    } catch {
      publicKey = null;
    }
  }

  async function loadFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (file) setPrivateKey(await file.text());
  }

  function sign() {
    setKeyProblem(null);
    const d = digest.data;
    if (!d) return;
    if (d.revision !== revision) {
      setKeyProblem('The request was edited while you read it; read the new version before signing.');
      return;
    }
    let signature: string;
    try {
      signature = signChangeDigest(d.digest, privateKey);
    } catch (error) {
      setKeyProblem(`This is not an SM2 private key (PEM or 64 hex digits): ${(error as Error).message}`);
      return;
    }
    approve.mutate({ id, digest: d.digest, signature });
  }

  return (
    <section className="panel stack" aria-label="Your decision">
      <h3 style={{ margin: 0 }}>Your decision</h3>
      {digest.data && (
        <details>
          <summary>
            What you sign: SM3 digest <span className="mono">{digest.data.digest}</span> of revision {digest.data.revision}
          </summary>
          <pre className="mono small" aria-label="Canonical request text">{digest.data.canonicalText}</pre>
        </details>
      )}
      <div className="row">
        <label>
          Private key file
          <input type="file" accept=".pem,.key,.txt" onChange={loadFile} aria-label="Load your approval private key" />
        </label>
        <label style={{ flex: 1 }}>
          or paste it
          <textarea
            rows={3}
            value={privateKey}
            onChange={(e) => setPrivateKey(e.target.value)}
            aria-label="Approval private key"
            placeholder="-----BEGIN PRIVATE KEY-----"
            autoComplete="off"
            spellCheck={false}
          />
        </label>
      </div>
      {privateKey.trim() && (
        <p className={publicKey ? 'small muted' : 'error'} role="status">
          {publicKey ? `Key loaded (public key ${publicKey.slice(0, 18)}…); it stays in this page.` : 'This does not read as an SM2 private key.'}
        </p>
      )}
      {(keyProblem ?? approve.error?.message) && (
        <p role="alert" className="error">
          {keyProblem ?? approve.error?.message}
        </p>
      )}
      <div className="row">
        <button type="button" className="button" disabled={!publicKey || approve.isPending || !digest.data} onClick={sign}>
          Sign and approve
        </button>
        <button type="button" className="button secondary" onClick={() => setRejecting(true)}>
          Reject
        </button>
      </div>
      <ReasonDialog
        open={rejecting}
        title="Reject this change"
        explanation="The requester sees your reason; the request ends here."
        confirmLabel="Reject"
        pending={reject.isPending}
        error={reject.error?.message ?? null}
        onConfirm={(reason) => reject.mutate({ id, revision, reason })}
        onClose={() => setRejecting(false)}
      />
    </section>
  );
}
