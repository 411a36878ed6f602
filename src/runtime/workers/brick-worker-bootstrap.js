// Entry of a brick worker thread (plain JavaScript, so that Node can start it without tsx).
// Worker threads do not inherit the main thread's tsx hooks, and on Node 20 `--import tsx` in a
// worker's execArgv does not install them either (tested: ERR_UNKNOWN_FILE_EXTENSION for .ts),
// so the worker registers tsx itself, as bin/dnc.js does, then loads the TypeScript handler.
// Top-level await: piscina waits for this module (and the bricks it preloads) before its first task.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./brick-worker.ts');

export default worker.handleBrickTask;
