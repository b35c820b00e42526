import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createArtifactDigester } from '../crypto/digest';
import { DomainError, DomainErrorCode } from '../errors';
import { mkdirPrivate } from '../secrets-at-rest';

export interface ReceivedFile {
  path: string;
  size: number;
  sm3: string;
  sha256: string;
  durationMs: number;
  discard(): Promise<void>;
}

export class UploadTooLargeError extends DomainError {
  constructor(readonly limit: number) {
    super(
      DomainErrorCode.PayloadTooLarge,
      `the .so is larger than the upload limit of ${limit} bytes; ship a smaller module or raise HOTPLANE_MAX_UPLOAD_BYTES`,
    );
  }
}

// Streams the upload to a private temp file, hashing SM3 and SHA-256 in the same pass and stopping at the cap,
// so a 256 MiB module never sits in memory and is never read twice.
export async function receiveToTempFile(
  source: Readable | ReadableStream<Uint8Array>,
  options: { tempDir: string; maxBytes: number },
): Promise<ReceivedFile> {
  const started = performance.now();
  mkdirPrivate(options.tempDir);
  const file = path.join(options.tempDir, `upload-${randomUUID()}.so.part`);
  const digester = createArtifactDigester();
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > options.maxBytes) {
        callback(new UploadTooLargeError(options.maxBytes));
        return;
      }
      digester.update(chunk);
      callback(null, chunk);
    },
  });
  const input = source instanceof Readable ? source : Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>);
  try {
    await pipeline(input, meter, createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  const digest = digester.digest();
  return {
    path: file,
    size,
    sm3: digest.sm3,
    sha256: digest.sha256,
    durationMs: performance.now() - started,
    discard: () => rm(file, { force: true }),
  };
}
