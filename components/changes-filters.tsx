'use client';
import { useState } from 'react';
import type { ChangesFilter } from '@/app/(console)/changes/changes-filter';
import { CHANGE_STATES } from '@/server/rollout/change-request.types';
import { STATE_WORDS } from '@/server/rollout/state-words';

/** The changes list's filters; each change goes straight to the URL (the caller's `onChange`). */
export function ChangesFilters({ filter, canApprove, onChange }: { filter: ChangesFilter; canApprove: boolean; onChange: (next: ChangesFilter) => void }) {
  const [module, setModule] = useState(filter.module);
  const toggleState = (state: (typeof CHANGE_STATES)[number]) =>
    onChange({ ...filter, state: filter.state.includes(state) ? filter.state.filter((s) => s !== state) : [...filter.state, state] });
  return (
    <form
      className="panel stack"
      aria-label="Filter change requests"
      onSubmit={(event) => {
        event.preventDefault();
        onChange({ ...filter, module: module.trim() });
      }}
    >
      <fieldset className="row" style={{ flexWrap: 'wrap', border: 0, padding: 0, margin: 0 }}>
        <legend className="small muted">State</legend>
        {CHANGE_STATES.map((state) => (
          <label key={state} className="checkbox small">
            <input type="checkbox" checked={filter.state.includes(state)} onChange={() => toggleState(state)} /> {STATE_WORDS[state]}
          </label>
        ))}
      </fieldset>
      <div className="row" style={{ flexWrap: 'wrap' }}>
        <label className="small">
          Module{' '}
          <input value={module} onChange={(event) => setModule(event.target.value)} onBlur={() => module.trim() !== filter.module && onChange({ ...filter, module: module.trim() })} placeholder="any" size={16} />
        </label>
        <label className="checkbox small">
          <input type="checkbox" checked={filter.mine} onChange={() => onChange({ ...filter, mine: !filter.mine })} /> Proposed by me
        </label>
        {canApprove && (
          <label className="checkbox small">
            <input type="checkbox" checked={filter.waitingForMe} onChange={() => onChange({ ...filter, waitingForMe: !filter.waitingForMe })} /> Waiting for my approval
          </label>
        )}
        <button type="submit" className="button secondary">Apply</button>
        <button type="button" className="button secondary" onClick={() => { setModule(''); onChange({ state: [], module: '', mine: false, waitingForMe: false }); }}>
          Clear filters
        </button>
      </div>
    </form>
  );
}
