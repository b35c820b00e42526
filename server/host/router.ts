// Per-module weighted routing across loaded versions. Without a gray id the split is smooth weighted
// round-robin (nginx's SWRR), exact over every cycle of sum(weights) picks instead of drifting like a random
// draw. With a gray id it is weighted rendezvous hashing (HRW), so an id stays on its version while the weights
// hold and, when they change, only the ids that must move do — toward the version that grew.

export interface RouteTarget {
  /** The version string: gray ids hash against it, so it must be the same on every host and across restarts. */
  key: string;
  /** Integer 0..100; 0 = loaded and warm, no traffic (a rollback target). */
  weight: number;
  /** Serving and healthy. */
  eligible: boolean;
}

const MAX_WEIGHT = 100;

// FNV-1a 64 over UTF-16 code units, then murmur3's fmix64 so ids that differ only in their last characters
// still spread over the whole range. Written by hand because it runs on every sticky pick and is thirty
// lines; a library would bring BigInt or WASM call overhead for no gain.
// A 64-bit word is a pair of int32 halves, and results land in typed arrays, never in return values or module
// variables: outside inlined code V8 boxes any number that is not a small integer, one allocation per pick.
const word = new Int32Array(2);
const HIGH = 0;
const LOW = 1;
const unit = new Float64Array(1);

// (aHi, aLo) × (bHi, bLo) mod 2^64 into `word`. The low halves multiply in 16-bit limbs because their full
// 64-bit product does not fit a double's 53-bit mantissa; Int32Array stores wrap mod 2^32.
function multiply64(aHi: number, aLo: number, bHi: number, bLo: number) {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  word[LOW] = (middle << 16) | (p00 & 0xffff);
  word[HIGH] = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (middle >>> 16) + Math.imul(aHi, bLo) + Math.imul(aLo, bHi);
}

function fnv1a64(text: string) {
  let hi = 0xcbf29ce4 | 0;
  let lo = 0x84222325 | 0;
  for (let i = 0; i < text.length; i++) {
    lo ^= text.charCodeAt(i);
    // × 0x100000001b3 = × (2^40 + 0x1b3): the 2^40 term only shifts the low half into the high one.
    const lowLimb = (lo & 0xffff) * 0x1b3;
    const highLimb = (lo >>> 16) * 0x1b3 + (lowLimb >>> 16);
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + (highLimb >>> 16)) | 0;
    lo = (highLimb << 16) | (lowLimb & 0xffff);
  }
  word[HIGH] = hi;
  word[LOW] = lo;
}

// fmix64 of (hi, lo) into unit[0], a point strictly inside (0, 1) from 52 bits + ½: ln(u) is finite, never 0.
function mixToUnit(hi: number, lo: number) {
  multiply64(hi, lo ^ (hi >>> 1), 0xff51afd7 | 0, 0xed558ccd | 0);
  hi = word[HIGH];
  multiply64(hi, word[LOW] ^ (hi >>> 1), 0xc4ceb9fe | 0, 0x1a85ec53);
  hi = word[HIGH];
  lo = word[LOW] ^ (hi >>> 1);
  unit[0] = ((hi >>> 0) * 0x100000 + (lo >>> 12) + 0.5) / 0x10000000000000;
}

/** Where (grayId, key) falls in (0, 1); the rendezvous score is weight / -ln(u). Exported for tests and tools. */
export function stickyUnit(grayId: string, key: string): number {
  fnv1a64(key);
  const keyHi = word[HIGH];
  const keyLo = word[LOW];
  fnv1a64(grayId);
  mixToUnit(word[HIGH] ^ keyHi, word[LOW] ^ keyLo);
  return unit[0];
}

// The targets a pick chooses among, as parallel arrays. Immutable except `current`, the SWRR running state.
class RouteTable {
  readonly total: number;
  readonly current: Int32Array;
  readonly keyHi: Int32Array;
  readonly keyLo: Int32Array;

  constructor(
    readonly keys: readonly string[],
    readonly weights: Int32Array,
    readonly fallback: boolean,
  ) {
    this.current = new Int32Array(keys.length);
    this.total = weights.reduce((sum, w) => sum + w, 0);
    this.keyHi = new Int32Array(keys.length);
    this.keyLo = new Int32Array(keys.length);
    keys.forEach((key, i) => {
      fnv1a64(key);
      this.keyHi[i] = word[HIGH];
      this.keyLo[i] = word[LOW];
    });
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
    if (grayId) return pickRendezvous(table, grayId);
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

function pickRendezvous(table: RouteTable, grayId: string): string {
  fnv1a64(grayId);
  const idHi = word[HIGH];
  const idLo = word[LOW];
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < table.keys.length; i++) {
    mixToUnit(idHi ^ table.keyHi[i], idLo ^ table.keyLo[i]);
    const score = table.weights[i] / -Math.log(unit[0]);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return table.keys[best];
}
