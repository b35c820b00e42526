'use client';
import Link from 'next/link';
import { useState, type DragEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { CheckResult } from '@/server/artifacts/checks';
import { CheckReport } from '@/components/check-report';
import { classifyArtifactFiles, type ArtifactFiles } from './classify-files';
import { sendArtifact } from './send-artifact';

interface UploadOutcome {
  outcome: 'accepted' | 'duplicate' | 'rejected';
  message: string;
  module?: string;
  version?: string;
  checks: CheckResult[];
}

const VERIFYING_STEPS = 'the signature against the registered signer, the ELF checks (architecture, symbols, TLS), and the identity probe in a sandbox';

type Phase = 'idle' | 'sending' | 'verifying';

export function UploadForm({ canPropose }: { canPropose: boolean }) {
  const queryClient = useQueryClient();
  const [files, setFiles] = useState<Partial<ArtifactFiles>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [progress, setProgress] = useState(0);
  const [phase, setPhase] = useState<Phase>('idle');
  const [result, setResult] = useState<UploadOutcome | null>(null);
  const [dragging, setDragging] = useState(false);

  function take(list: FileList | null) {
    if (!list) return;
    const classified = classifyArtifactFiles([...list], files);
    setFiles(classified.files);
    setProblem(classified.problem);
    setResult(null);
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    take(event.dataTransfer.files);
  }

  async function upload() {
    if (!files.so || !files.manifest || !files.signature) return;
    setProgress(0);
    setPhase('sending');
    setResult(null);
    setProblem(null);
    try {
      const response = await sendArtifact(files as ArtifactFiles, setProgress, () => setPhase('verifying'));
      if ('checks' in response) {
        setResult(response as unknown as UploadOutcome);
        await queryClient.invalidateQueries();
      } else {
        setProblem(response.message);
      }
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setPhase('idle');
    }
  }

  const ready = Boolean(files.so && files.manifest && files.signature);
  return (
    <div className="stack">
      <div
        className={`dropzone${dragging ? ' active' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <p>Drop the .so, its manifest and its signature here, or choose them:</p>
        <label className="row" style={{ justifyContent: 'center', fontWeight: 400 }}>
          Files
          <input type="file" multiple onChange={(e) => take(e.target.files)} aria-label="Choose artifact files" />
        </label>
      </div>
      <dl className="kv panel">
        <dt>Module (.so)</dt>
        <dd className="mono">{files.so ? `${files.so.name} (${files.so.size.toLocaleString()} B)` : '—'}</dd>
        <dt>Manifest</dt>
        <dd className="mono">{files.manifest?.name ?? '—'}</dd>
        <dt>Signature</dt>
        <dd className="mono">{files.signature?.name ?? '—'}</dd>
      </dl>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <div className="row">
        <button type="button" className="button" disabled={!ready || phase !== 'idle'} onClick={upload}>
          Upload and verify
        </button>
        <button type="button" className="button secondary" onClick={() => { setFiles({}); setResult(null); setProblem(null); }}>
          Clear
        </button>
      </div>
      {phase === 'sending' && (
        <label>
          Uploading {Math.round(progress * 100)} %
          <progress value={progress} max={1} />
        </label>
      )}
      {phase === 'verifying' && (
        <div className="panel stack" role="status" aria-label="Verifying" data-testid="upload-verifying" style={{ gap: 4 }}>
          <strong>Verifying…</strong>
          <span className="small muted">All bytes sent. The console is checking {VERIFYING_STEPS}; this takes a few seconds.</span>
          <progress aria-label="Verifying" />
        </div>
      )}
      {result && (
        <section className="stack" aria-live="polite">
          {result.outcome === 'rejected' ? (
            <p role="alert" className="error" data-testid="upload-outcome">
              Rejected: {result.message}
            </p>
          ) : (
            <p className="notice" data-testid="upload-outcome">
              {result.outcome === 'accepted' ? 'Accepted' : 'Already accepted'}: {result.message}.{' '}
              {result.module && <Link href={`/modules/${result.module}`}>Open {result.module}</Link>}
            </p>
          )}
          {result.outcome !== 'rejected' && canPropose && result.module && result.version && (
            <p style={{ margin: 0 }}>
              <Link className="button" href={`/changes?module=${encodeURIComponent(result.module)}&version=${encodeURIComponent(result.version)}#propose`}>
                Propose a rollout of this version
              </Link>
            </p>
          )}
          <CheckReport checks={result.checks} />
        </section>
      )}
    </div>
  );
}
