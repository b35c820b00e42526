import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTypescript from 'eslint-config-next/typescript';

const basePath = path.dirname(fileURLToPath(import.meta.url));

// The one-way flow of imports (docs/fleet.md "The protocol"): app → server/api → domain → db | protocol. The host is its
// own program: it speaks to the console only through server/protocol, and borrows the ELF reader, the crypto and
// two process utilities; nothing else of the console (no database, no Next) may reach a host.
const restricted = (zones) => ({ 'import/no-restricted-paths': ['error', { basePath, zones }] });
const tests = ['**/*.test.ts', '**/*.test.tsx'];

const importFlow = [
  {
    files: ['server/protocol/**/*.ts'],
    rules: restricted([
      {
        target: './server/protocol',
        from: '.',
        except: ['./server/protocol', './node_modules'],
        message: 'server/protocol is the console↔host contract: it imports packages only, nothing of the project.',
      },
    ]),
  },
  {
    files: ['server/host/**/*.ts'],
    ignores: [...tests, 'server/host/testing.ts'],
    rules: restricted([
      {
        target: './server/host',
        from: '.',
        except: ['./server/host', './server/protocol', './server/artifacts/elf.ts', './server/artifacts/elf-dynamic.ts', './server/artifacts/elf-file.ts', './server/artifacts/elf-host.ts', './server/artifacts/elf-provenance.ts', './server/artifacts/elf-symbols.ts', './server/crypto', './server/secrets-at-rest.ts', './server/config.ts', './server/paths.ts', './node_modules',
          // The host's certificate requests (the identity work): X.509 helpers, crypto by another name.
          './server/fleet/identity/x509.ts'],
        message: 'the host imports only server/protocol, the ELF reader, crypto, secrets-at-rest, config and paths from outside server/host: put what it shares with the console in server/protocol.',
      },
    ]),
  },
  {
    files: ['server/**/*.ts'],
    ignores: [...tests, 'server/api/**', 'server/host/**', 'server/protocol/**', 'server/testing/**'],
    rules: restricted([
      { target: './server', from: './server/api', message: 'domain code never imports the API layer (server/api calls the domain, not the other way round).' },
      { target: './server', from: './app', message: 'server code never imports the Next app.' },
      { target: './server', from: './components', message: 'server code never imports UI components.' },
    ]),
  },
  {
    files: ['server/api/**/*.ts'],
    ignores: tests,
    rules: restricted([{ target: './server/api', from: ['./app', './components'], message: 'the API layer never imports the Next app or its components.' }]),
  },
  {
    files: ['app/**/*.{ts,tsx}', 'components/**/*.{ts,tsx}'],
    ignores: tests,
    rules: restricted([{ target: ['./app', './components'], from: './server/db', message: 'pages reach the database only through server/api or a domain module, never server/db.' }]),
  },
];

const config = [
  ...nextVitals,
  ...nextTypescript,
  {
    ignores: ['node_modules/**', '.next/**', 'build/**', 'data/**', 'tmp/**', 'server/db/generated/**', 'test-results/**', 'playwright-report/**', 'next-env.d.ts'],
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...importFlow,
];

export default config;
