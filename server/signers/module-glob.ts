// Module names are [a-z0-9-], so a glob needs only `*` and `?`; a general glob library would add nothing here.
export function moduleGlobMatches(pattern: string, moduleName: string): boolean {
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '[a-z0-9-]*' : ch === '?' ? '[a-z0-9-]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(moduleName);
}

export function isValidModuleGlob(pattern: string): boolean {
  return /^[a-z0-9*?-]{1,64}$/.test(pattern);
}
