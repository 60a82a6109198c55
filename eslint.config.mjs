// Lint rules that catch what review keeps missing: promises nobody awaits, unused code,
// loose equality. Formatting is Prettier's job (npm run lint checks both).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/**", "examples/**", "node_modules/**", "test-results/**"] },
  js.configs.recommended,
  {
    files: ["nodes/**/*.ts"],
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { project: "./tsconfig.json", tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      // `const node = this` is how Node-RED's own nodes keep the node for their handlers.
      "@typescript-eslint/no-this-alias": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    files: ["test/**/*.js", "bench/**/*.js", "scripts/**/*.js", "demo/**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { ...globals.node, ...globals.mocha },
    },
    rules: {
      "no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    // Editor specs run some functions inside the browser page, where the editor's globals live.
    files: ["test/editor/**/*.js", "test/support/editor.js"],
    languageOptions: { globals: { ...globals.browser, RED: "readonly", $: "readonly" } },
  },
);
