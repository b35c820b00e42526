import { closeSync, openSync, writeSync } from 'node:fs';

const SLOT_BYTES = 160;

// While an in-process module call runs, a small file names it (`module@version`); it is blank otherwise. If a
// native crash kills the host mid-call, the supervising console reads the file and knows which version did it.
// Two positioned writes of one fixed-size slot per inproc call: cheap, and they survive the process dying.
export class CrashMarker {
  private readonly fd: number;
  private readonly blank = Buffer.alloc(SLOT_BYTES, 0x20);
  private readonly labels = new Map<string, Buffer>();

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w', 0o600);
    writeSync(this.fd, this.blank, 0, SLOT_BYTES, 0);
  }

  enter(module: string, version: string) {
    const key = `${module}@${version}`;
    let label = this.labels.get(key);
    if (!label) {
      label = Buffer.alloc(SLOT_BYTES, 0x20);
      label.write(key.slice(0, SLOT_BYTES));
      this.labels.set(key, label);
    }
    writeSync(this.fd, label, 0, SLOT_BYTES, 0);
  }

  exit() {
    writeSync(this.fd, this.blank, 0, SLOT_BYTES, 0);
  }

  close() {
    closeSync(this.fd);
  }
}

export function readCrashMarker(text: string): { module: string; version: string } | null {
  const trimmed = text.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0) return null;
  return { module: trimmed.slice(0, at), version: trimmed.slice(at + 1) };
}
