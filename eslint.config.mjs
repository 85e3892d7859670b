// Only what Biome cannot check: rules that need the type checker to see promises, and
// the length of the controller's functions (Biome has no such rule).
// Biome formats and lints everything else (biome.json).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits or catches: its rejection is unhandled and ends the process.
      '@typescript-eslint/no-floating-promises': 'error',
      // A promise where a value or a callback returning void is expected (an if, an event handler).
      '@typescript-eslint/no-misused-promises': 'error',
      // `return promise` inside try: the catch and finally run before it settles, so its
      // rejection escapes both (the controller's exit in issue 28).
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
    },
  },
  {
    // The controller is read in one sitting: each function fits on a screen (issue 26).
    files: ['src/controller/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
);
