// Serialises work per key (an artifact digest, a module version) inside this process. One console process owns
// the store, so an in-process lock is enough there; several console replicas sharing one store and database rely
// on the database's unique (module, version) key and on rename-into-place instead, which still never lose bytes.

const tails = new Map<string, Promise<void>>();

async function acquire(key: string): Promise<() => void> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  return () => {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  };
}

/** Runs `work` holding every lock in `keys`, taken in sorted order so two callers never wait on each other. */
export async function withKeyedLocks<T>(keys: string[], work: () => Promise<T>): Promise<T> {
  const releases: (() => void)[] = [];
  try {
    for (const key of [...new Set(keys)].sort()) releases.push(await acquire(key));
    return await work();
  } finally {
    for (const release of releases.reverse()) release();
  }
}
