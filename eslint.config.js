// Lint: typescript-eslint's type-aware rules over every runtime folder, the tests and the scripts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What Node scripts (.mjs) may use without importing it. */
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'performance', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'AbortController', 'fetch', 'TextDecoder', 'TextEncoder', 'structuredClone'].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'release/**', 'node_modules/**', 'models/**', 'test-output/**', 'test-fixtures/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each runtime folder has its own tsconfig; the tests and configs are checked by tsconfig.tests.json.
        project: ['./app/*/tsconfig.json', './tsconfig.preload.json', './tsconfig.tests.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // `const { dropped: _dropped, ...rest } = x` is how a field is left out of a copy: a leading underscore says so.
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A `let` read by a closure before its one assignment (an event filter set up before the job exists) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Vitest's asymmetric matchers (expect.any, expect.stringMatching) are typed `any` by design.
    files: ['**/*.test.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-argument': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: nodeGlobals },
  },
);
