#!/usr/bin/env node
// The gemini-live command. The package ships TypeScript sources: tsx runs them.
import { register } from "tsx/esm/api"

register()
await import("../src/cli/main.ts")
