import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import type { ReactNode } from 'react';
import { can } from '@/server/auth/permissions';
import { currentUser } from '@/server/auth/current-user';
import { ConsoleShell, type NavItem } from '@/components/console-shell';
import { FileKeyBanner } from '@/components/file-key-banner';
import { parseTheme, THEME_COOKIE } from '@/components/theme';
import { sandboxStatus } from '@/server/host/sandbox';
import { SignOutButton } from './sign-out-button';

export const dynamic = 'force-dynamic';

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await currentUser();
  if (!user) redirect('/login');
  const nav: NavItem[] = [
    { href: '/', label: 'Overview', show: can(user.roles, 'changes.read') },
    { href: '/modules', label: 'Modules', show: can(user.roles, 'modules.read') },
    { href: '/changes', label: 'Changes', show: can(user.roles, 'changes.read') },
    { href: '/reviews', label: 'Reviews', show: can(user.roles, 'changes.read') },
    { href: '/oncall', label: 'On call', show: can(user.roles, 'changes.read') },
    { href: '/hosts', label: 'Hosts', show: can(user.roles, 'runtime.read') },
    { href: '/upload', label: 'Upload', show: can(user.roles, 'artifacts.upload') },
    { href: '/signers', label: 'Signers', show: can(user.roles, 'signers.read') },
    { href: '/users', label: 'Users', show: can(user.roles, 'users.manage') },
    { href: '/webhooks', label: 'Webhooks', show: can(user.roles, 'webhooks.manage') },
    { href: '/audit', label: 'Audit log', show: can(user.roles, 'audit.read') },
    { href: '/profile', label: 'Profile', show: true },
  ];
  // Said on every page while it lasts: modules then run with everything this machine's user can read.
  const sandbox = sandboxStatus();
  return (
    <ConsoleShell nav={nav.filter((item) => item.show)} user={{ name: user.name, email: user.email, roles: user.roles }}
      signOut={<SignOutButton />} theme={parseTheme((await cookies()).get(THEME_COOKIE)?.value)}
    >
      {!sandbox.sandboxed && <p role="alert" className="error" data-testid="sandbox-banner">Process cells are not sandboxed: {sandbox.detail}</p>}
      <FileKeyBanner />
      {children}
    </ConsoleShell>
  );
}
