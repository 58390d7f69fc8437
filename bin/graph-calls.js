#!/usr/bin/env node
// `graph-calls` / `npx graph-calls`: runs the TypeScript CLI through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
