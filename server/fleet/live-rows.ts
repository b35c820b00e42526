import type { StreamClock } from './metrics-stream';

// Tables by push: the rows once, then only the rows that changed (and the keys of those gone). Each subscriber
// keeps what it last sent, so a client that reconnects simply starts over with the whole table.

export interface RowsEvent<Row, Meta> {
  /** True when the client should drop what it has first (the first event of a stream). */
  reset: boolean;
  upserts: Row[];
  removed: string[];
  /** Every key in display order, sent only when the order or the set of rows changed. */
  order: string[] | null;
  /** The table's header values (e.g. hosts online), sent only when they changed. */
  meta: Meta | null;
}

export interface RowsSnapshot<Row, Meta> {
  rows: Row[];
  meta: Meta;
}

export class RowDiffer<Row, Meta> {
  private sent = new Map<string, string>();
  private order = '';
  private meta = '';
  private started = false;

  constructor(private readonly keyOf: (row: Row) => string) {}

  /** What changed since the last call, or null when nothing did. */
  diff(snapshot: RowsSnapshot<Row, Meta>): RowsEvent<Row, Meta> | null {
    const reset = !this.started;
    this.started = true;
    const next = new Map(snapshot.rows.map((row) => [this.keyOf(row), JSON.stringify(row)]));
    const upserts = snapshot.rows.filter((row) => this.sent.get(this.keyOf(row)) !== next.get(this.keyOf(row)));
    const removed = [...this.sent.keys()].filter((key) => !next.has(key));
    const order = JSON.stringify([...next.keys()]);
    const meta = JSON.stringify(snapshot.meta);
    const event: RowsEvent<Row, Meta> = {
      reset,
      upserts,
      removed,
      order: reset || order !== this.order ? [...next.keys()] : null,
      meta: reset || meta !== this.meta ? snapshot.meta : null,
    };
    this.sent = next;
    this.order = order;
    this.meta = meta;
    return reset || upserts.length > 0 || removed.length > 0 || event.order !== null || event.meta !== null ? event : null;
  }
}

/** The whole table as one event, for the polling fallback: the client applies it like the first pushed one. */
export function rowsReset<Row, Meta>(snapshot: RowsSnapshot<Row, Meta>, keyOf: (row: Row) => string): RowsEvent<Row, Meta> {
  return new RowDiffer<Row, Meta>(keyOf).diff(snapshot)!;
}

/** Reads the table every `intervalMs` and yields what changed, until `signal` aborts. */
export async function* rowEvents<Row, Meta>(
  read: () => Promise<RowsSnapshot<Row, Meta>>,
  keyOf: (row: Row) => string,
  intervalMs: number,
  clock: StreamClock,
  signal?: AbortSignal,
) {
  const differ = new RowDiffer<Row, Meta>(keyOf);
  while (!signal?.aborted) {
    const event = differ.diff(await read());
    if (event) yield event;
    await clock.sleep(intervalMs, signal);
  }
}
