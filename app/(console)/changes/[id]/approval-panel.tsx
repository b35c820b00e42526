'use client';
import { useEffect, useMemo, useState, type ChangeEvent } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/app/trpc';
import { fingerprintOfPublicPoint, publicKeyOfPrivate, signChangeDigest } from '@/app/approval-signing';
import { MaskedKey } from '@/components/masked-key';
import { ReasonDialog } from '@/components/reason-dialog';

/**
 * The approver's sign-off: read the canonical text, load the private key (file or paste; held in this component's
 * memory only, never sent), sign the digest in the browser, send only the signature.
 */
export function ApprovalPanel({ id, revision, onDone }: { id: string; revision: number; onDone: () => void }) {
  const trpc = useTRPC();
  const digest = useQuery(trpc.rollouts.changes.digest.queryOptions({ id }));
  const digestRevision = digest.data?.revision;
  const refetchDigest = digest.refetch;
  // An edit arrives over the live view with a new revision and digest; signing the old digest would be refused.
  const digestOutdated = digestRevision !== undefined && digestRevision !== revision;
  useEffect(() => {
    if (digestOutdated) void refetchDigest();
  }, [digestOutdated, revision, refetchDigest]);
  const [privateKey, setPrivateKey] = useState('');
  const [keySource, setKeySource] = useState('');
  const [keyProblem, setKeyProblem] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const approve = useMutation(trpc.rollouts.changes.approve.mutationOptions({ onSuccess: () => { setPrivateKey(''); onDone(); } }));
  const reject = useMutation(trpc.rollouts.changes.reject.mutationOptions({ onSuccess: () => { setRejecting(false); onDone(); } }));

  // Parsing the key and multiplying the curve point is too slow to repeat on every live update.
  const publicKey = useMemo(() => {
    if (!privateKey.trim()) return null;
    try {
      return publicKeyOfPrivate(privateKey);
    } catch {
      return null;
    }
  }, [privateKey]);

  async function loadFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setKeySource(`loaded from file ${file.name}`);
    setPrivateKey(await file.text());
  }

  function sign() {
    setKeyProblem(null);
    const d = digest.data;
    if (!d || digestOutdated) return;
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
        // In full and wrapped: an approver signs what they can read, all of it, without scrolling sideways.
        <div className="stack" style={{ gap: 4 }}>
          <div className="small">
            What you sign: SM3 digest <span className="mono wrap-text">{digest.data.digest}</span> of revision {digest.data.revision}
          </div>
          <pre className="mono small wrap-text panel" style={{ margin: 0 }} aria-label="Canonical request text">
            {digest.data.canonicalText}
          </pre>
        </div>
      )}
      {publicKey ? (
        <MaskedKey
          label="Approval private key"
          source={keySource}
          fingerprint={fingerprintOfPublicPoint(publicKey)}
          secret={privateKey}
          onForget={() => setPrivateKey('')}
        />
      ) : (
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
              onChange={(e) => {
                setKeySource('pasted');
                setPrivateKey(e.target.value);
              }}
              aria-label="Approval private key"
              placeholder="-----BEGIN PRIVATE KEY-----"
              autoComplete="off"
              spellCheck={false}
            />
          </label>
        </div>
      )}
      {publicKey && <p className="small muted">The key stays in this page: only the signature is sent.</p>}
      {privateKey.trim() && !publicKey && (
        <p className="error" role="status">
          This does not read as an SM2 private key.
        </p>
      )}
      {digestOutdated && (
        <p className="small muted" role="status">
          The request was edited (now revision {revision}); loading the new text to sign…
        </p>
      )}
      {(keyProblem ?? approve.error?.message) && (
        <p role="alert" className="error">
          {keyProblem ?? approve.error?.message}
        </p>
      )}
      <div className="row">
        <button type="button" className="button" disabled={!publicKey || approve.isPending || !digest.data || digestOutdated} onClick={sign}>
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
