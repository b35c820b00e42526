import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import { parseTheme, THEME_COOKIE } from '@/components/theme';
import { Providers } from './providers';
import './globals.css';

export const metadata: Metadata = {
  // Each page names itself ("Changes · Hotplane"), so tabs and history tell pages apart.
  title: { template: '%s · Hotplane', default: 'Hotplane' },
  description: 'Hot upgrades of native modules, signed, approved and reversible.',
};

// Rendered per request so that Next.js can put proxy.ts's CSP nonce on its scripts (a prerendered page has none).
export default async function RootLayout({ children }: { children: ReactNode }) {
  await connection();
  const theme = parseTheme((await cookies()).get(THEME_COOKIE)?.value);
  return (
    <html lang="en" data-theme={theme === 'system' ? undefined : theme}>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
