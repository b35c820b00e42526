// The hook a desired-state change calls so that hosts waiting for one learn of it (the long-poll watch registers
// here). The cluster bus calls it on every replica when any replica changed the desired state.
const watchers = new Set<() => void>();

export function watchDesiredStateNudges(watcher: () => void): () => void {
  watchers.add(watcher);
  return () => void watchers.delete(watcher);
}

/** The desired state may have changed (written here or, via the cluster bus, by another replica). Cheap. */
export function nudgeDesiredStateWatch(): void {
  for (const watcher of watchers) watcher();
}
