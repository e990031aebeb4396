// One lint configuration for the whole tree: the server (src), the benchmarks (bench), the tests (test)
// and the web console's browser scripts. TypeScript is linted with type information from the project's
// own tsconfig files, so the rules that need types (floating promises, misused promises, exhaustive
// switches) see what the compiler sees. Layout is Prettier's job (.prettierrc.json); nothing here
// concerns spacing or wrapping, except a bound on line length for what Prettier does not wrap.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'build/', 'data/', 'models/', 'node_modules/', 'bench/results/', 'native/', '.gl/', '.whl/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
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
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
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
