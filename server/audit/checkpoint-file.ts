// The checkpoints file on disk: append-only, one checkpoint per line, each write fsync'd before the console
// moves on, so a line once reported written survives a crash.
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CheckpointLine } from './checkpoint-format';

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Every line of the file in order, empty lines included (they are anomalies too); null when there is no file. */
export async function readCheckpointLines(file: string): Promise<CheckpointLine[] | null> {
  try {
    await stat(file);
  } catch (error) {
    if (isMissingFile(error)) return null;
    throw error;
  }
  const lines: CheckpointLine[] = [];
  const reader = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const text of reader) lines.push({ lineNumber: lines.length + 1, text });
  return lines;
}

export interface CheckpointFileTail {
  /** The last newline-terminated line, or null when the file has none. */
  lastLine: string | null;
  /** Bytes after the last newline: a write cut short by a crash. */
  tornTail: boolean;
}

const TAIL_CHUNK = 64 * 1024;

/** Reads only the end of the file: the console consults it before every checkpoint. Null when there is no file. */
export async function readCheckpointFileTail(file: string): Promise<CheckpointFileTail | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isMissingFile(error)) return null;
    throw error;
  }
  try {
    let position = (await handle.stat()).size;
    let buffer = Buffer.alloc(0);
    while (position > 0) {
      const length = Math.min(TAIL_CHUNK, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      buffer = Buffer.concat([chunk, buffer]);
      const lastNewline = buffer.lastIndexOf(0x0a);
      if (lastNewline <= 0) continue;
      const lineStart = buffer.lastIndexOf(0x0a, lastNewline - 1) + 1;
      if (lineStart > 0 || position === 0) {
        return { lastLine: buffer.subarray(lineStart, lastNewline).toString('utf8'), tornTail: lastNewline !== buffer.length - 1 };
      }
    }
    const lastNewline = buffer.lastIndexOf(0x0a);
    return lastNewline === -1
      ? { lastLine: null, tornTail: buffer.length > 0 }
      : { lastLine: buffer.subarray(0, lastNewline).toString('utf8'), tornTail: lastNewline !== buffer.length - 1 };
  } finally {
    await handle.close();
  }
}

// A new file's directory entry is only durable once the directory itself is synced.
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function openForAppend(file: string) {
  await mkdir(path.dirname(file), { recursive: true });
  let created = false;
  try {
    await stat(file);
  } catch (error) {
    if (!isMissingFile(error)) throw error;
    created = true;
  }
  const handle = await open(file, 'a', 0o644);
  return { handle, created };
}

/** Creates the file if needed: from then on a missing file means someone removed it. */
export async function ensureCheckpointFile(file: string): Promise<void> {
  const { handle, created } = await openForAppend(file);
  await handle.close();
  if (created) await syncDirectory(path.dirname(file));
}

/** Appends one line and fsyncs it. A torn tail left by a crash is ended first so the new line stands alone. */
export async function appendCheckpointLine(file: string, text: string, tornTail: boolean): Promise<void> {
  const { handle, created } = await openForAppend(file);
  try {
    await handle.write(`${tornTail ? '\n' : ''}${text}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (created) await syncDirectory(path.dirname(file));
}
