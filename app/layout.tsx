import type { Metadata } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import { Providers } from './providers';
import './globals.css';

export const metadata: Metadata = {
  title: 'Hotplane',
  description: 'Hot upgrades of native modules, signed, approved and reversible.',
};

// Rendered per request so that Next.js can put proxy.ts's CSP nonce on its scripts (a prerendered page has none).
export default async function RootLayout({ children }: { children: ReactNode }) {
  await connection();
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
