import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { stickyUnit, WeightedRouter, type RouteTarget } from './router';

const serving = (key: string, weight: number): RouteTarget => ({ key, weight, eligible: true });
const down = (key: string, weight: number): RouteTarget => ({ key, weight, eligible: false });

function routerWith(...targets: RouteTarget[]) {
  const router = new WeightedRouter();
  router.setTargets(targets);
  return router;
}

function countPicks(router: WeightedRouter, picks: number): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  for (let i = 0; i < picks; i++) {
    const key = router.pick();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const randomIds = (count: number) => Array.from({ length: count }, () => randomBytes(12).toString('base64url'));

// Independent BigInt rendering of the documented hash: FNV-1a 32 of the id's even and of its odd UTF-16 units
// (the odd lane from 0x050c5d1f), combined as even xor odd × 0x9e3779b1 xor length, fmix32, top 16 bits as its
// bucket; then fmix32((bucket + 1) × 0x9e3779b1 xor FNV-1a 32 of the key), as a point inside (0, 1).
const MASK32 = (1n << 32n) - 1n;
function referenceFnv1a32(text: string, start = 0, step = 1, basis = 0x811c9dc5n): bigint {
  let hash = basis;
  for (let i = start; i < text.length; i += step) hash = ((hash ^ BigInt(text.charCodeAt(i))) * 0x01000193n) & MASK32;
  return hash;
}
function referenceIdHash(text: string): bigint {
  const odd = (referenceFnv1a32(text, 1, 2, 0x050c5d1fn) * 0x9e3779b1n) & MASK32;
  return referenceFnv1a32(text, 0, 2) ^ odd ^ BigInt(text.length);
}
function referenceFmix32(k: bigint): bigint {
  k ^= k >> 16n;
  k = (k * 0x85ebca6bn) & MASK32;
  k ^= k >> 13n;
  k = (k * 0xc2b2ae35n) & MASK32;
  return k ^ (k >> 16n);
}
function referenceStickyUnit(grayId: string, key: string): number {
  const bucket = referenceFmix32(referenceIdHash(grayId)) >> 16n;
  const mixed = referenceFmix32((((bucket + 1n) * 0x9e3779b1n) & MASK32) ^ referenceFnv1a32(key));
  return (Number(mixed) + 0.5) / 2 ** 32;
}

describe('WeightedRouter without a gray id: smooth weighted round-robin', () => {
  it('splits 95/5 exactly: 9,500 and 500 of 10,000 picks', () => {
    const counts = countPicks(routerWith(serving('1.0.0', 95), serving('1.1.0', 5)), 10_000);
    assert.equal(counts.get('1.0.0'), 9_500);
    assert.equal(counts.get('1.1.0'), 500);
  });

  it('splits three targets exactly, in every cycle of sum(weights) picks', () => {
    const router = routerWith(serving('a', 50), serving('b', 30), serving('c', 20));
    for (let cycle = 0; cycle < 100; cycle++) {
      const counts = countPicks(router, 100);
      assert.deepEqual([counts.get('a'), counts.get('b'), counts.get('c')], [50, 30, 20], `cycle ${cycle}`);
    }
  });

  it('interleaves instead of bunching: any 20 consecutive picks of a 95/5 split hold exactly one canary pick', () => {
    const router = routerWith(serving('stable', 95), serving('canary', 5));
    const picks = Array.from({ length: 1_000 }, () => router.pick());
    for (let start = 0; start + 20 <= picks.length; start++) {
      assert.equal(picks.slice(start, start + 20).filter((k) => k === 'canary').length, 1, `window at ${start}`);
    }
  });

  it('skips ineligible and zero-weight targets', () => {
    const counts = countPicks(routerWith(serving('a', 60), down('b', 30), serving('c', 10), serving('warm', 0)), 700);
    assert.deepEqual(Object.fromEntries(counts), { a: 600, c: 100 });
  });

  it('returns null when no target is eligible, and when there are no targets', () => {
    assert.equal(routerWith(down('a', 90), down('b', 10)).pick(), null);
    assert.equal(routerWith(down('a', 90), down('b', 10)).pick('user-1'), null);
    assert.equal(new WeightedRouter().pick(), null);
  });

  it('keeps its position when the same routes are re-applied, so refreshes do not bias the split', () => {
    const router = routerWith(serving('a', 95), serving('b', 5));
    const counts = new Map<string | null, number>();
    for (let i = 0; i < 10_000; i++) {
      if (i % 7 === 0) router.setTargets([serving('a', 95), serving('b', 5), down('c', 0)]);
      const key = router.pick();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.deepEqual([counts.get('a'), counts.get('b')], [9_500, 500]);
  });

  it('publishes a frozen copy: changing the caller’s array afterwards changes nothing', () => {
    const input = [serving('a', 100), serving('b', 0)];
    const router = routerWith(...input);
    input[0].weight = 0;
    input[1].weight = 100;
    assert.equal(router.pick(), 'a');
    assert.deepEqual(router.targets, [serving('a', 100), serving('b', 0)]);
    assert.ok(Object.isFrozen(router.targets) && Object.isFrozen(router.targets[0]));
  });

  it('refuses weights outside integers 0..100 and duplicate keys, keeping the previous routes', () => {
    const router = routerWith(serving('a', 100));
    for (const weight of [-1, 101, 2.5, Number.NaN]) {
      assert.throws(() => router.setTargets([serving('a', weight)]), RangeError, String(weight));
    }
    assert.throws(() => router.setTargets([serving('a', 50), serving('a', 50)]), /appears twice/);
    assert.equal(router.pick(), 'a');
  });
});

describe('WeightedRouter fallback to warm zero-weight targets', () => {
  it('sends traffic to the warm version when the only weighted one is down, and says so', () => {
    const router = routerWith(down('1.1.0', 100), serving('1.0.0', 0));
    assert.equal(router.fallbackActive, true);
    assert.equal(router.pick(), '1.0.0');
    assert.equal(router.pick('user-7'), '1.0.0');
    router.setTargets([serving('1.1.0', 100), serving('1.0.0', 0)]);
    assert.equal(router.fallbackActive, false);
    assert.deepEqual(Object.fromEntries(countPicks(router, 50)), { '1.1.0': 50 });
  });

  it('shares fallback traffic equally among several warm targets', () => {
    const router = routerWith(down('new', 100), serving('old', 0), serving('older', 0));
    assert.deepEqual(Object.fromEntries(countPicks(router, 100)), { old: 50, older: 50 });
  });

  it('is not active when nothing at all is eligible', () => {
    assert.equal(routerWith(down('a', 100), down('b', 0)).fallbackActive, false);
  });
});

describe('WeightedRouter with a gray id: weighted rendezvous hashing', () => {
  it('computes the documented hash exactly (checked against a BigInt rendering)', () => {
    for (const [id, key] of [['', ''], ['user-1', '1.0.0'], ['a'.repeat(128), '2.0.0-rc.1'], ['z:9', 'i1'], ['é€𝄞', 'x'], ...randomIds(200).map((id) => [id, id.slice(3)])]) {
      assert.equal(stickyUnit(id, key), referenceStickyUnit(id, key), `${id} / ${key}`);
    }
  });

  it('keeps an id on the same key across 1,000 picks, interleaved with other traffic', () => {
    const router = routerWith(serving('a', 50), serving('b', 30), serving('c', 20));
    const ids = randomIds(50);
    const first = new Map(ids.map((id) => [id, router.pick(id)]));
    for (let i = 0; i < 1_000; i++) {
      const id = ids[i % ids.length];
      router.pick();
      assert.equal(router.pick(id), first.get(id));
    }
  });

  it('distributes 100,000 random ids by weight within 1 point', () => {
    const router = routerWith(serving('a', 50), serving('b', 30), serving('c', 15), serving('d', 5));
    const counts = new Map<string | null, number>();
    for (const id of randomIds(100_000)) {
      const key = router.pick(id);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, weight] of [['a', 50], ['b', 30], ['c', 15], ['d', 5]] as const) {
      const percent = ((counts.get(key) ?? 0) / 100_000) * 100;
      assert.ok(Math.abs(percent - weight) <= 1, `${key}: ${percent.toFixed(2)}% for weight ${weight}`);
    }
  });

  for (const [from, to] of [[5, 25], [25, 50]] as const) {
    it(`moves only the ids that must move when the canary grows ${from}% → ${to}%, all toward it`, () => {
      const router = routerWith(serving('stable', 100 - from), serving('canary', from));
      const ids = randomIds(20_000);
      const before = ids.map((id) => router.pick(id));
      router.setTargets([serving('stable', 100 - to), serving('canary', to)]);
      const after = ids.map((id) => router.pick(id));
      let moved = 0;
      for (let i = 0; i < ids.length; i++) {
        if (before[i] === after[i]) continue;
        moved++;
        assert.deepEqual([before[i], after[i]], ['stable', 'canary'], ids[i]);
      }
      const movedPercent = (moved / ids.length) * 100;
      assert.ok(Math.abs(movedPercent - (to - from)) <= 3, `moved ${movedPercent.toFixed(2)}%, ideal ${to - from}%`);
    });
  }

  it('moves only the ids of a version that becomes ineligible, and they return when it recovers', () => {
    const router = routerWith(serving('a', 40), serving('b', 30), serving('c', 30));
    const ids = randomIds(5_000);
    const before = ids.map((id) => router.pick(id));
    router.setTargets([serving('a', 40), down('b', 30), serving('c', 30)]);
    const during = ids.map((id) => router.pick(id));
    ids.forEach((id, i) => {
      if (before[i] === 'b') assert.notEqual(during[i], 'b', id);
      else assert.equal(during[i], before[i], id);
    });
    router.setTargets([serving('a', 40), serving('b', 30), serving('c', 30)]);
    assert.deepEqual(ids.map((id) => router.pick(id)), before);
  });

  it('chooses by the documented score, the same on every host whatever order the ids arrive in', () => {
    const targets = [serving('1.4.2', 40), serving('1.5.0', 30), serving('1.5.1', 20), serving('1.6.0-rc.1', 10)];
    const ids = randomIds(2_000);
    const forward = routerWith(...targets);
    const backward = routerWith(...targets);
    const first = ids.map((id) => forward.pick(id));
    const second = [...ids].reverse().map((id) => backward.pick(id)).reverse();
    assert.deepEqual(second, first);
    ids.forEach((id, i) => {
      const scores = targets.map((t) => t.weight / -Math.log(stickyUnit(id, t.key)));
      assert.equal(first[i], targets[scores.indexOf(Math.max(...scores))].key, id);
    });
  });

  it('treats an empty gray id as none', () => {
    const router = routerWith(serving('a', 95), serving('b', 5));
    const picks = Array.from({ length: 20 }, () => router.pick(''));
    assert.equal(picks.filter((key) => key === 'b').length, 1);
  });
});

describe('WeightedRouter cost', () => {
  // Allocation shows as minor GCs: even 16 bytes a pick would be 80 MB over 5M picks, several scavenges.
  async function minorGcsDuring(work: () => void): Promise<number> {
    let count = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) count++;
    });
    observer.observe({ entryTypes: ['gc'] });
    work();
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    return count;
  }

  it('allocates nothing per pick, with or without a gray id', async () => {
    const router = routerWith(serving('a', 40), serving('b', 30), serving('c', 20), serving('d', 10));
    const ids = randomIds(1024);
    const gcs = await minorGcsDuring(() => {
      for (let i = 0; i < 5_000_000; i++) {
        router.pick();
        router.pick(ids[i & 1023]);
      }
    });
    assert.ok(gcs <= 2, `${gcs} minor GCs during 5M picks of each kind`);
  });
});
