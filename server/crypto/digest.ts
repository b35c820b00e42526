// Artifact digests through node:crypto (OpenSSL's SM3 runs ~50× faster than sm-crypto's pure-JS one).
// Node-only. Files are streamed: a module is hashed chunk by chunk, never held whole in a string.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface ArtifactDigest {
  /** Lower-case hex. */
  sm3: string;
  /** Lower-case hex. */
  sha256: string;
  /** Bytes hashed. */
  size: number;
}

export interface ArtifactDigester {
  update(chunk: Uint8Array): void;
  /** Finishes both hashes; the digester cannot be used afterwards. */
  digest(): ArtifactDigest;
}

/** Strings are hashed as UTF-8. */
export function sm3Hex(input: Uint8Array | string): string {
  return createHash('sm3').update(input).digest('hex');
}

/** Strings are hashed as UTF-8. */
export function sha256Hex(input: Uint8Array | string): string {
  return createHash('sha256').update(input).digest('hex');
}

/** SM3 and SHA-256 in one pass over the same chunks. */
export function createArtifactDigester(): ArtifactDigester {
  const sm3 = createHash('sm3');
  const sha256 = createHash('sha256');
  let size = 0;
  let finished = false;
  return {
    update(chunk) {
      if (finished) throw new Error('the digester has already produced its digest');
      sm3.update(chunk);
      sha256.update(chunk);
      size += chunk.length;
    },
    digest() {
      if (finished) throw new Error('the digester has already produced its digest');
      finished = true;
      return { sm3: sm3.digest('hex'), sha256: sha256.digest('hex'), size };
    },
  };
}

/** Digests a stream of byte chunks (e.g. an upload body or fs.createReadStream). */
export async function digestArtifactStream(chunks: AsyncIterable<Uint8Array>): Promise<ArtifactDigest> {
  const digester = createArtifactDigester();
  for await (const chunk of chunks) digester.update(chunk);
  return digester.digest();
}

export function digestArtifactFile(path: string): Promise<ArtifactDigest> {
  return digestArtifactStream(createReadStream(path));
}
