// An in-process module runs with everything the host can read. So a host allows inproc isolation only when it
// cannot read any of the console's secrets (the console passes their paths with --console-secret): the embedded
// host started by a root console runs as nobody, from its own folder, and passes; one started as the console's
// own user can read them and refuses inproc, which leaves process cells (sandboxed) for every module.
import { closeSync, openSync } from 'node:fs';

/** Why inproc isolation is refused on this host, or null when none of these files can be opened for reading. */
export function inprocRefusalFor(consoleSecrets: readonly string[]): string | null {
  const readable = consoleSecrets.filter((file) => {
    try {
      closeSync(openSync(file, 'r'));
      return true;
    } catch {
      return false;
    }
  });
  if (readable.length === 0) return null;
  return (
    `inproc isolation refused: this host can read the console's ${readable.join(', ')}, and so could a module loaded in ` +
    'its process. Use process isolation, or run the host as a user of its own (the console does so when started as root)'
  );
}
