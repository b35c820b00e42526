'use client';
import { useState, type FormEvent } from 'react';
import type { ProposeInput, RolloutPlan, RolloutStep } from '@/server/rollout/change-request.types';
import { DEFAULT_PLAN } from '@/server/rollout/default-plan';

type AnalysisSettings = RolloutPlan['analysis'];

// Field name → label; the numbers of the canary analysis, each with the server's default filled in.
const ANALYSIS_FIELDS: { name: keyof AnalysisSettings; label: string; step: string }[] = [
  { name: 'intervalSeconds', label: 'Judge every (s)', step: '0.1' },
  { name: 'windowSeconds', label: 'Analysis window (s)', step: '1' },
  { name: 'minRequests', label: 'Min. requests', step: '1' },
  { name: 'maxErrorPercent', label: 'Max. errors (%)', step: '0.1' },
  { name: 'maxErrorRatio', label: 'Max. errors × stable', step: '0.1' },
  { name: 'maxP95Ms', label: 'Max. p95 (ms)', step: '1' },
  { name: 'maxP95Ratio', label: 'Max. p95 × stable', step: '0.01' },
  { name: 'p95NoiseMs', label: 'p95 noise (ms)', step: '0.1' },
];

export interface ProposeFormModule {
  name: string;
  hotUpgradable: boolean;
}

/** An existing request being edited: the form starts from it and the module cannot change. */
export interface EditedRequest {
  toVersion: string;
  plan: RolloutPlan;
  reason: string;
  ticket: string;
}

/**
 * An operator's change request: which version, how the canary moves (weight and hold per step), how it is judged,
 * and why. The server validates again and names any field it refuses.
 */
export function ProposeChangeForm({
  modules,
  module,
  versions,
  pending,
  error,
  onModuleChange,
  onSubmit,
  editing,
  onCancelEdit,
  proposedVersion,
}: {
  modules: ProposeFormModule[];
  module: string;
  versions: string[];
  pending: boolean;
  error: string | null;
  onModuleChange: (module: string) => void;
  onSubmit: (input: ProposeInput) => void;
  editing?: EditedRequest;
  onCancelEdit?: () => void;
  /** The target version to start from (the upload page's shortcut). */
  proposedVersion?: string;
}) {
  const plan = editing?.plan ?? DEFAULT_PLAN;
  const [steps, setSteps] = useState<RolloutStep[]>(plan.steps);
  const setStep = (index: number, change: Partial<RolloutStep>) => setSteps(steps.map((s, i) => (i === index ? { ...s, ...change } : s)));

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const number = (name: string) => Number(form.get(name));
    // "zone-a; zone-b, zone-c" is two waves; empty is one wave of every zone.
    const waves = String(form.get('waves') ?? '')
      .split(';')
      .map((wave) => wave.split(',').map((zone) => zone.trim()).filter(Boolean))
      .filter((wave) => wave.length > 0);
    onSubmit({
      module,
      toVersion: String(form.get('toVersion')),
      reason: String(form.get('reason')),
      ticket: String(form.get('ticket')),
      plan: {
        steps,
        stepDeadlineSeconds: number('stepDeadlineSeconds'),
        rollbackWindowSeconds: number('rollbackWindowSeconds'),
        isolation: form.get('isolation') === 'inproc' ? 'inproc' : 'process',
        analysis: Object.fromEntries(ANALYSIS_FIELDS.map((f) => [f.name, number(f.name)])) as AnalysisSettings,
        ...(waves.length > 0 ? { waves } : {}),
      },
    });
  }

  return (
    <form className="panel stack" onSubmit={submit} aria-label={editing ? 'Edit the change' : 'Propose a change'}>
      <h2 style={{ margin: 0 }}>{editing ? 'Edit the change (approvals given so far become void)' : 'Propose a change'}</h2>
      <div className="row">
        <label>
          Module
          <select value={module} onChange={(e) => onModuleChange(e.target.value)} required disabled={Boolean(editing)}>
            <option value="">choose…</option>
            {modules.map((m) => (
              <option key={m.name} value={m.name} disabled={!m.hotUpgradable}>
                {m.name}
                {!m.hotUpgradable && ' (never hot-upgraded)'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target version
          <select name="toVersion" required key={`${module}:${versions.join(',')}`} defaultValue={editing?.toVersion ?? proposedVersion}>
            {versions.length === 0 && <option value="">no accepted version</option>}
            {versions.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Isolation
          <select name="isolation" defaultValue={plan.isolation}>
            <option value="process">process</option>
            <option value="inproc">inproc</option>
          </select>
        </label>
      </div>
      <fieldset className="stack">
        <legend>Canary steps</legend>
        {steps.map((step, i) => (
          <div className="row" key={i}>
            <label>
              Weight of step {i + 1} (%)
              <input type="number" min={1} max={100} required value={step.weight} onChange={(e) => setStep(i, { weight: Number(e.target.value) })} />
            </label>
            <label>
              Hold of step {i + 1} (s)
              <input type="number" min={0} required value={step.holdSeconds} onChange={(e) => setStep(i, { holdSeconds: Number(e.target.value) })} />
            </label>
            <button type="button" className="button secondary small" disabled={steps.length === 1} onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
              Remove step {i + 1}
            </button>
          </div>
        ))}
        <div className="row">
          <button type="button" className="button secondary small" onClick={() => setSteps([...steps, { weight: 100, holdSeconds: 30 }])}>
            Add a step
          </button>
          <span className="muted small">Weights rise step by step; the last is 100.</span>
        </div>
      </fieldset>
      <fieldset className="row">
        <legend>Analysis</legend>
        {ANALYSIS_FIELDS.map((f) => (
          <label key={f.name}>
            {f.label}
            <input name={f.name} type="number" step={f.step} min={0} required defaultValue={plan.analysis[f.name]} style={{ width: 120 }} />
          </label>
        ))}
      </fieldset>
      <div className="row">
        <label>
          Step deadline (s)
          <input name="stepDeadlineSeconds" type="number" min={1} required defaultValue={plan.stepDeadlineSeconds} />
        </label>
        <label>
          Rollback window (s)
          <input name="rollbackWindowSeconds" type="number" min={0} required defaultValue={plan.rollbackWindowSeconds} />
        </label>
        <label>
          Ticket
          <input name="ticket" placeholder="CHG-1234" defaultValue={editing?.ticket} />
        </label>
      </div>
      <label>
        Waves (zones in order: commas within a wave, semicolons between waves; empty: every zone at once)
        <input name="waves" placeholder="zone-a; zone-b, zone-c" defaultValue={plan.waves?.map((wave) => wave.join(', ')).join('; ') ?? ''} />
      </label>
      <label>
        Reason
        <textarea name="reason" rows={2} required minLength={3} defaultValue={editing?.reason} />
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      <div className="row">
        <button type="submit" className="button" disabled={pending || !module}>
          {editing ? 'Save and send for approval again' : 'Propose and send for approval'}
        </button>
        {onCancelEdit && (
          <button type="button" className="button secondary" onClick={onCancelEdit}>
            Keep it as it is
          </button>
        )}
      </div>
    </form>
  );
}
