#!/usr/bin/env node
// The dnc command. It runs the TypeScript sources directly through tsx, so a fresh
// `npm ci` needs no build step and the CLI can never run stale compiled code.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
