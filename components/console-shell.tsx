import Link from 'next/link';
import type { ReactNode } from 'react';

export interface NavItem {
  href: string;
  label: string;
  show: boolean;
}

export function ConsoleShell({
  nav,
  user,
  signOut,
  children,
}: {
  nav: NavItem[];
  user: { name: string; email: string; roles: string[] };
  signOut: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="shell">
      <aside className="sidebar">
        <Link href="/" className="brand">
          Hotplane
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => (
              <li key={item.href}>
                <Link href={item.href}>{item.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
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
          {signOut}
        </div>
      </aside>
      <main className="content">{children}</main>
    </div>
  );
}
