import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { currentUser } from '@/server/auth/current-user';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Sign in' };

export const dynamic = 'force-dynamic';

export default async function LoginPage() {
  if (await currentUser()) redirect('/');
  return (
    <div className="login-page">
      <div className="login-card">
        <h1>Hotplane</h1>
        <p className="muted">Signed, approved and reversible upgrades of native modules.</p>
        <LoginForm />
      </div>
    </div>
  );
}
