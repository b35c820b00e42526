import { z } from 'zod';

// Zone and group names are set by admins and shown everywhere; the same shape as host names keeps them safe to print.

export const DEFAULT_ZONE = 'default';

export const zoneName = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a zone is 1-63 characters of a-z, 0-9 and "-", starting with a letter or digit');

export const groupName = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a group is 1-63 characters of a-z, 0-9 and "-", starting with a letter or digit');
