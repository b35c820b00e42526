import { z } from 'zod';
import { COMMON_PASSWORDS } from './common-passwords';

export const MIN_PASSWORD_LENGTH = 12;
export const LOGIN_ATTEMPTS_PER_MINUTE = 5;

/** Why `password` is refused, or null: too short, one repeated character, or a common password with digits or symbols added. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `passwords have at least ${MIN_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  const stem = lower.replace(/^[\d\W_]+|[\d\W_]+$/g, '');
  if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(stem) || /^(.)\1*$/.test(lower)) {
    return 'this password is on the list of common passwords (or is one with digits or symbols added); choose a longer, unusual passphrase';
  }
  return null;
}

export const passwordSchema = z.string().superRefine((password, ctx) => {
  const problem = passwordProblem(password);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
