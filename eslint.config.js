// One lint configuration for the whole tree: the server (src), the benchmarks (bench), the tests (test)
// and the web console's browser scripts. TypeScript is linted with type information from the project's
// own tsconfig files, so the rules that need types (floating promises, misused promises, exhaustive
// switches) see what the compiler sees. Layout is Prettier's job (.prettierrc.json); nothing here
// concerns spacing or wrapping, except a bound on line length for what Prettier does not wrap.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'build/', 'data/', 'models/', 'node_modules/', 'bench/results/', 'native/', '.gl/', '.whl/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // The tests are typed against dist/'s declarations, as tsc checks them; the console suite has
        // its own tsconfig for the DOM library.
        project: ['./tsconfig.json', './test/tsconfig.json', './test/tsconfig.browser.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Leaving a key out by destructuring the rest is how an object is copied without it.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Handing on a caught value as it came, as `throw err` in a catch does.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Off: `async` without `await` is how a function that must return a promise (an interface's
      // release(), a batch runner, a queued task) turns a synchronous throw into a rejection; dropping
      // it would let the throw escape the caller's .catch.
      '@typescript-eslint/require-await': 'off',
      // A `let` that closures read before its one assignment (instruments created before what they
      // measure) would be in its temporal dead zone as a const, so those stay `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests probe JSON answers as `any` and compare them whole with toEqual; vitest's asymmetric matchers
    // (expect.any, expect.stringMatching) are typed `any` too. A wrong field fails the test itself, so
    // these rules would only ask for casts that check nothing.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The web console's scripts run in the browser as ES modules.
    files: ['src/http/ui/assets/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['eslint.config.js', 'test/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      // Prettier wraps code at 160 columns but leaves comments, strings and template literals whole.
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
);
