/** Starts a dnc server in-process on 127.0.0.1 (random port) for tests. */
import { setTimeout as delay } from 'node:timers/promises';
import { Writable } from 'node:stream';
import type { Brick } from '../../src/runtime/bricks/brick.js';
import { ReferenceBrick } from '../../src/runtime/bricks/reference-brick.js';
import type { BrickLoader, LoadBrickOptions } from '../../src/runtime/bricks/registry.js';
import { resolveServeConfig, type ServeConfigInput } from '../../src/serve/serve-config.js';
import { createServeApp, type ServeApp } from '../../src/serve/server.js';
import { createReferenceExpert } from '../../src/worlds/index.js';

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `http://127.0.0.1:PORT/v1`, for the openai client's baseURL. */
  baseURL: string;
  serve: ServeApp;
  /** Everything the server logged. */
  logs: () => string;
  close(): Promise<void>;
}

export async function startTestServer(
  config: ServeConfigInput,
  options: { loadOptions?: LoadBrickOptions; workerLoaderModules?: string[]; waitReady?: boolean } = {},
): Promise<TestServer> {
  let logged = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString('utf8');
      done();
    },
  });
  const serve = createServeApp(resolveServeConfig(config, 'test config'), {
    logger: { level: 'info', stream },
    loadOptions: options.loadOptions,
    workerLoaderModules: options.workerLoaderModules,
  });
  const url = await serve.listen(0, '127.0.0.1');
  if (options.waitReady !== false) await serve.ready;
  return {
    url,
    baseURL: `${url}/v1`,
    serve,
    logs: () => logged,
    close: async () => void (await serve.close(2_000)),
  };
}

/**
 * A gate a test closes and opens: a gated brick call waits while it is closed, so a test can hold
 * requests in flight for as long as it needs instead of hoping a delay outlasts its checks.
 */
export class Gate {
  private closed = false;
  private opened: Promise<void> = Promise.resolve();
  private openNow: () => void = () => undefined;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opened = new Promise((resolve) => (this.openNow = resolve));
  }

  open(): void {
    this.closed = false;
    this.openNow();
  }

  /** Resolves once the gate is open. */
  passed(): Promise<void> {
    return this.opened;
  }
}

/**
 * A remote-brick stand-in: the loader of `openai:` bricks, whose bricks wait `delayMs`
 * (asynchronously, as a network call does), then for `gate` to be open when one is given, before
 * answering as the reference expert. Remote bricks run on the main thread, so this is the
 * main-thread placement under test.
 */
export function slowRemoteLoader(delayMs: number, gate?: Gate): BrickLoader {
  return {
    kind: 'openai',
    load: async (spec) => {
      const inner = new ReferenceBrick(createReferenceExpert());
      const slow =
        <Input, Output>(call: (input: Input) => Promise<Output>) =>
        async (input: Input) => {
          await delay(delayMs);
          await gate?.passed();
          return call.call(inner, input);
        };
      const brick: Brick = {
        specificationVersion: 'v1',
        spec: spec.spec,
        kind: 'openai',
        model: inner.model,
        decompose: slow(inner.decompose),
        nextSubquestion: slow(inner.nextSubquestion),
        solve: slow(inner.solve),
      };
      return brick;
    },
  };
}
