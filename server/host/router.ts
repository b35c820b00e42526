// Per-module weighted routing across loaded versions. Without a gray id the split is smooth weighted
// round-robin (nginx's SWRR), exact over every cycle of sum(weights) picks instead of drifting like a random
// draw. With a gray id it is weighted rendezvous hashing (HRW) of the id's bucket, so an id stays on its version
// while the weights hold and, when they change, only the ids that must move do — toward the version that grew.

export interface RouteTarget {
  /** The version string: gray ids hash against it, so it must be the same on every host and across restarts. */
  key: string;
  /** Integer 0..100; 0 = loaded and warm, no traffic (a rollback target). */
  weight: number;
  /** Serving and healthy. */
  eligible: boolean;
}

const MAX_WEIGHT = 100;

// A gray id hashes (FNV-1a 32 with Math.imul over its even and its odd UTF-16 units as two lanes, which halves the
// chain of dependent multiplies, then murmur3's fmix32) to one of 2^16 buckets, and each bucket's
// version is chosen by HRW once per route table and remembered: a sticky pick is one short hash and a table
// read. 2^16 buckets keep each version's share within ~0.2 points of its weight. Hand-written: it is a dozen
// lines on every sticky pick, and all in int32 arithmetic, so V8 boxes nothing and a pick allocates nothing.
const BUCKET_BITS = 16;
const BUCKETS = 1 << BUCKET_BITS;
const UNCHOSEN = 0xffff;

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

function fmix32(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

function twoLaneHash(text: string): number {
  let even = 0x811c9dc5 | 0;
  let odd = 0x050c5d1f;
  const pairs = text.length & ~1;
  let i = 0;
  for (; i < pairs; i += 2) {
    even = Math.imul(even ^ text.charCodeAt(i), 0x01000193);
    odd = Math.imul(odd ^ text.charCodeAt(i + 1), 0x01000193);
  }
  if (i < text.length) even = Math.imul(even ^ text.charCodeAt(i), 0x01000193);
  return even ^ Math.imul(odd, 0x9e3779b1) ^ text.length;
}

/** The bucket 0..65535 a gray id falls in; every host computes the same one. */
export function grayBucket(grayId: string): number {
  return fmix32(twoLaneHash(grayId)) >>> (32 - BUCKET_BITS);
}

// Where (bucket, version key hash) falls, strictly inside (0, 1) so that ln(u) is finite and never 0.
function bucketUnit(bucket: number, keyHash: number): number {
  return (fmix32(Math.imul(bucket + 1, 0x9e3779b1) ^ keyHash) + 0.5) / 0x100000000;
}

/** Where (grayId, key) falls in (0, 1); the rendezvous score is weight / -ln(u). Exported for tests and tools. */
export function stickyUnit(grayId: string, key: string): number {
  return bucketUnit(grayBucket(grayId), fnv1a32(key));
}

// The targets a pick chooses among, as parallel arrays. Immutable except `current`, the SWRR running state.
class RouteTable {
  readonly total: number;
  readonly current: Int32Array;
  readonly keyHashes: Int32Array;
  /** Each bucket's chosen target index, filled on first use (UNCHOSEN until then). */
  private bucketChoice: Uint16Array | null = null;

  constructor(
    readonly keys: readonly string[],
    readonly weights: Int32Array,
    readonly fallback: boolean,
  ) {
    this.current = new Int32Array(keys.length);
    this.total = weights.reduce((sum, w) => sum + w, 0);
    this.keyHashes = Int32Array.from(keys, fnv1a32);
  }

  // Lazily, so that publishing a table costs nothing in proportion to the bucket count.
  pickSticky(grayId: string): string {
    const choice = (this.bucketChoice ??= new Uint16Array(BUCKETS).fill(UNCHOSEN));
    const bucket = grayBucket(grayId);
    let index = choice[bucket];
    if (index === UNCHOSEN) index = choice[bucket] = this.rendezvous(bucket);
    return this.keys[index];
  }

  private rendezvous(bucket: number): number {
    let best = 0;
    let bestScore = -1;
    for (let i = 0; i < this.keys.length; i++) {
      const score = this.weights[i] / -Math.log(bucketUnit(bucket, this.keyHashes[i]));
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  sameRoutes(other: RouteTable): boolean {
    if (other.keys.length !== this.keys.length || other.fallback !== this.fallback) return false;
    return this.keys.every((key, i) => key === other.keys[i] && this.weights[i] === other.weights[i]);
  }
}

const EMPTY_TABLE = new RouteTable([], new Int32Array(0), false);

function checkTargets(targets: readonly RouteTarget[]) {
  const seen = new Set<string>();
  for (const { key, weight } of targets) {
    if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      throw new RangeError(`route weight of "${key}" must be an integer 0..${MAX_WEIGHT}, got ${weight}`);
    }
    if (seen.has(key)) throw new Error(`route target "${key}" appears twice`);
    seen.add(key);
  }
}

// When every weighted version is down, eligible zero-weight versions (kept warm for rollback) share the traffic
// equally: answering from the previous version beats answering 503.
function buildTable(targets: readonly RouteTarget[]): RouteTable {
  const weighted = targets.filter((t) => t.eligible && t.weight > 0);
  if (weighted.length > 0) return new RouteTable(weighted.map((t) => t.key), Int32Array.from(weighted, (t) => t.weight), false);
  const warm = targets.filter((t) => t.eligible);
  if (warm.length === 0) return EMPTY_TABLE;
  return new RouteTable(warm.map((t) => t.key), new Int32Array(warm.length).fill(1), true);
}

export class WeightedRouter {
  private table = EMPTY_TABLE;
  private published: readonly RouteTarget[] = Object.freeze([]);

  get targets(): readonly RouteTarget[] {
    return this.published;
  }

  /** True while no weighted target is eligible and picks go to warm zero-weight targets instead. */
  get fallbackActive(): boolean {
    return this.table.fallback;
  }

  // The new table is complete before the one assignment that publishes it, so no pick sees half an update.
  // Re-applying the same routes keeps the round-robin position: idempotent refreshes must not bias the split.
  setTargets(targets: readonly RouteTarget[]): void {
    checkTargets(targets);
    const next = buildTable(targets);
    const published = Object.freeze(targets.map((t) => Object.freeze({ key: t.key, weight: t.weight, eligible: t.eligible })));
    if (!next.sameRoutes(this.table)) this.table = next;
    this.published = published;
  }

  /** The key to send this request to, or null when no target is eligible. */
  pick(grayId?: string | null): string | null {
    const table = this.table;
    const count = table.keys.length;
    if (count <= 1) return count === 1 ? table.keys[0] : null;
    if (grayId) return table.pickSticky(grayId);
    return pickRoundRobin(table);
  }
}

function pickRoundRobin(table: RouteTable): string {
  const { current, weights } = table;
  let best = 0;
  for (let i = 0; i < current.length; i++) {
    current[i] += weights[i];
    if (current[i] > current[best]) best = i;
  }
  current[best] -= table.total;
  return table.keys[best];
}
