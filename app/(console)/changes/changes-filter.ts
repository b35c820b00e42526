import { CHANGE_STATES, type ChangeState } from '@/server/rollout/change-request.types';

// The changes list's filters live in the URL (?state=Canary&state=Paused&module=ledger&mine=1&waiting=1), so a
// link reproduces the view. Unknown values are dropped, never sent to the server.

export interface ChangesFilter {
  state: ChangeState[];
  module: string;
  mine: boolean;
  waitingForMe: boolean;
}

export function filterFromSearch(params: URLSearchParams): ChangesFilter {
  return {
    state: params.getAll('state').filter((s): s is ChangeState => (CHANGE_STATES as readonly string[]).includes(s)),
    module: params.get('module')?.trim() ?? '',
    mine: params.get('mine') === '1',
    waitingForMe: params.get('waiting') === '1',
  };
}

export function searchOf(filter: ChangesFilter): string {
  const params = new URLSearchParams();
  for (const s of filter.state) params.append('state', s);
  if (filter.module) params.set('module', filter.module);
  if (filter.mine) params.set('mine', '1');
  if (filter.waitingForMe) params.set('waiting', '1');
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The list procedure's input for a filter: empty parts left out. */
export function listInput(filter: ChangesFilter) {
  return {
    state: filter.state.length > 0 ? filter.state : undefined,
    module: filter.module || undefined,
    mine: filter.mine || undefined,
    waitingForMe: filter.waitingForMe || undefined,
  };
}
