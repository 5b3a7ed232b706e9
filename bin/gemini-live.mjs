#!/usr/bin/env node
// The gemini-live command (built into dist/ by `npm run build`, which `npm install` runs).
await import("../dist/cli/main.js")
