import Link from 'next/link';
import type { ReactNode } from 'react';
import { ConsoleNav } from './console-nav';
import { ThemeToggle } from './theme-toggle';
import type { Theme } from './theme';

export interface NavItem {
  href: string;
  label: string;
  show: boolean;
}

export function ConsoleShell({
  nav,
  user,
  signOut,
  theme,
  children,
}: {
  nav: NavItem[];
  user: { name: string; email: string; roles: string[] };
  signOut: ReactNode;
  theme: Theme;
  children: ReactNode;
}) {
  return (
    <div className="shell">
      <a href="#content" className="skip-link">
        Skip to content
      </a>
      <aside className="sidebar">
        <Link href="/" className="brand">
          Hotplane
        </Link>
        <ConsoleNav nav={nav} />
        <div className="whoami">
          <div className="whoami-name">{user.name}</div>
          <div className="muted small">{user.email}</div>
          <div className="roles">
            {user.roles.map((role) => (
              <span key={role} className={`badge role-${role}`}>
                {role}
              </span>
            ))}
          </div>
          <ThemeToggle initial={theme} />
          {signOut}
        </div>
      </aside>
      <main className="content" id="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
