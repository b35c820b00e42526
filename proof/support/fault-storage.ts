import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// The disk faults of the fault proof: a store on a disk that fills up, and a file overwritten behind the store's back.

/**
 * The artifact store on a disk of its own that can be filled: a small tmpfs mounted over the store folder when
 * this process may mount (root), otherwise the store stays where it is and a full disk is stood in for by /dev/full
 * (writing to it fails with ENOSPC) at the temporary path the store writes the manifest to.
 */
export interface StoreDisk {
  /** How the disk is made to fill up, in words for the report. */
  readonly how: string;
  /** Leaves the store so that storing the next upload runs out of space half-way (after the .so, at the manifest). */
  fill(manifestTempPath: string): void;
  /** Gives the space back. */
  free(): void;
  /** Unmounts the tmpfs, if any (the files on it go with it). */
  release(): void;
}

const TMPFS_BYTES = 4 * 1024 * 1024;
/** Room for the .so (about 21 KB: six 4 KiB pages) and nothing after it. */
const LEFT_FREE_BYTES = 24 * 1024;

export function prepareStoreDisk(storeDir: string): StoreDisk {
  mkdirSync(storeDir, { recursive: true });
  const filler = path.join(storeDir, 'filler');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0755`, 'hotplane-proof-store', storeDir], { stdio: 'pipe' });
  } catch (error) {
    const why = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    let standIn: string | null = null;
    return {
      how: `not a real full disk: mounting a tmpfs was refused here (${why}), so a symlink to /dev/full (writes fail with ENOSPC) stood where the store writes the manifest's temporary file`,
      fill(manifestTempPath) {
        standIn = manifestTempPath;
        symlinkSync('/dev/full', manifestTempPath);
      },
      free() {
        if (standIn) rmSync(standIn, { force: true });
      },
      release() {},
    };
  }
  let mounted = true;
  return {
    how: `a real full disk: the store folder is a ${TMPFS_BYTES / 2 ** 20} MiB tmpfs, filled by a file until ${LEFT_FREE_BYTES / 1024} KiB were left (room for the .so, none for its manifest)`,
    fill() {
      const { bavail, bsize } = statfsSync(storeDir);
      writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - LEFT_FREE_BYTES)));
    },
    free() {
      rmSync(filler, { force: true });
    },
    release() {
      if (mounted) execFileSync('umount', [storeDir]);
      mounted = false;
    },
  };
}

/** The store's files other than the filler, for before/after comparisons. */
export function storeListing(storeDir: string): string[] {
  return readdirSync(storeDir).filter((name) => name !== 'filler').sort();
}

/** Replaces a read-only artifact file's bytes in place, as someone with write access to the disk could. */
export function overwriteArtifact(file: string, withBytesOf: string) {
  chmodSync(file, 0o644);
  writeFileSync(file, readFileSync(withBytesOf));
  chmodSync(file, 0o444);
}
