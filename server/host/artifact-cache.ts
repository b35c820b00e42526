import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { createArtifactDigester, digestArtifactFile } from '../crypto/digest';
import { mkdirPrivate } from '../secrets-at-rest';

// The host's own copy of every artifact it runs: <data>/artifacts/<sm3>.so, read-only. The console's store is
// never read directly (the host may run on another machine), and every load re-verifies the SM3 of the exact
// file that is about to be dlopen-ed.

export type ArtifactFetcher = (sm3: string) => Promise<ReadableStream<Uint8Array> | NodeJS.ReadableStream>;

export class ArtifactIntegrityError extends Error {}

export class ArtifactCache {
  constructor(readonly dir: string) {}

  pathOf(sm3: string): string {
    if (!/^[0-9a-f]{64}$/.test(sm3)) throw new Error(`not an SM3 digest: ${sm3}`);
    return path.join(this.dir, `${sm3}.so`);
  }

  async has(sm3: string): Promise<boolean> {
    return stat(this.pathOf(sm3)).then(() => true, () => false);
  }

  // Streams into a temp file, hashing on the way; only a file whose SM3 matches is renamed into place.
  async fetch(sm3: string, fetcher: ArtifactFetcher): Promise<string> {
    const target = this.pathOf(sm3);
    if (await this.has(sm3)) return target;
    mkdirPrivate(this.dir);
    const temp = `${target}.part-${process.pid}-${Date.now()}`;
    const digester = createArtifactDigester();
    const source = await fetcher(sm3);
    const input = 'getReader' in source ? Readable.fromWeb(source as import('node:stream/web').ReadableStream) : (source as NodeJS.ReadableStream);
    const hash = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        digester.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(input, hash, createWriteStream(temp, { mode: 0o600 }));
      const digest = digester.digest();
      if (digest.sm3 !== sm3) throw new ArtifactIntegrityError(`artifact ${sm3} arrived with SM3 ${digest.sm3}: refused`);
      await chmod(temp, 0o444);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
    return target;
  }

  // Called right before loading: a cached file changed on disk after it was accepted is refused and removed.
  async verify(sm3: string): Promise<{ path: string; sha256: string; ms: number }> {
    const started = performance.now();
    const file = this.pathOf(sm3);
    const digest = await digestArtifactFile(file);
    if (digest.sm3 !== sm3) {
      await rm(file, { force: true });
      throw new ArtifactIntegrityError(`cached artifact ${file} no longer hashes to its SM3 (${digest.sm3}): refused to load it and removed it`);
    }
    return { path: file, sha256: digest.sha256, ms: performance.now() - started };
  }
}

// For hosts embedded in tests and applications: artifacts already on this disk.
export function fileFetcher(pathOfSm3: (sm3: string) => string): ArtifactFetcher {
  return async (sm3) => createReadStream(pathOfSm3(sm3));
}
