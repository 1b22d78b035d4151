// One lint setup for the whole tree. Workflow files are held to Temporal's determinism rules:
// no Node built-ins, no tfjs, no sharp, and no floating promises.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'runs/', '.cache/', 'coverage/', '.tools/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // node:test's test() returns a promise that the runner itself awaits.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto'], message: 'Workflows must be deterministic: no Node built-ins.' },
          { group: ['@tensorflow/*', 'sharp'], message: 'Workflows know nothing of tensors or images: call an activity.' },
          { group: ['../src/*', '../src/**'], message: 'Workflows may import only types from the library (use `import type`).', allowTypeImports: true },
        ],
      }],
    },
  },
);
