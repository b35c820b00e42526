import path from 'node:path';

// The project folder. Computed from the working directory (or HOTPLANE_ROOT, which the CLI sets) rather than
// import.meta.url, because the console's bundler would otherwise try to bundle the folders it points at.
export function projectRoot(): string {
  return path.resolve(/* turbopackIgnore: true */ process.env.HOTPLANE_ROOT ?? process.cwd());
}
