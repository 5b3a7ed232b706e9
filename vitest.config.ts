import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // The package's own name resolves to its TypeScript sources (the "effect-gemini-live:source"
  // export condition), not to the build in dist/ that users get (the examples and the CLI run that,
  // as users do).
  ssr: { resolve: { conditions: ["effect-gemini-live:source", ...defaultServerConditions] } },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
})
