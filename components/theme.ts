// The person's colour theme: "system" follows the OS (prefers-color-scheme); light or dark overrides it. Kept in a
// cookie so the server renders <html data-theme> already right: no flash of the wrong theme, no inline script.

export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];
export const THEME_COOKIE = 'hotplane-theme';

export function parseTheme(value: string | undefined): Theme {
  return (THEMES as readonly string[]).includes(value ?? '') ? (value as Theme) : 'system';
}
