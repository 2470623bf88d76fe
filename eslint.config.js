import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import vue from 'eslint-plugin-vue';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'test-artifacts/**', 'node_modules/**', 'demo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    files: ['bin/**/*.js', 'bench/**/*.ts', 'core/**/*.ts', 'electron/**/*.ts', 'test/**/*.ts'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // TypeScript checks names; eslint's no-undef does not know DOM or Node globals in .vue/.ts.
    files: ['**/*.ts', '**/*.vue'],
    rules: { 'no-undef': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // core/ must stay framework-free: nothing from electron/ or renderer/.
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/electron/**', '**/renderer/**', 'electron', 'vue', 'pinia'] },
      ],
    },
  },
  {
    // The renderer talks to the host only through the API contract: types from core, nothing else.
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/core/**'],
              allowTypeImports: true,
              message: 'renderer may import only types from core',
            },
            {
              group: ['**/electron/**', 'electron', 'node:*'],
              message: 'renderer runs in a browser sandbox',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/**/*.ts', 'electron/**/*.cts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/renderer/**'] }],
    },
  },
  prettier,
);
