// Entry of a gradient worker thread (plain JavaScript, so that Node can start it without tsx):
// worker threads do not inherit the main thread's tsx hooks, so the worker registers tsx itself,
// as bin/dnc.js and src/runtime/workers/brick-worker-bootstrap.js do, then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./gradient-worker.ts');
