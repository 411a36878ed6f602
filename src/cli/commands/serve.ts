/**
 * `dnc serve --config FILE [--port N] [--host H]`: serves the config's chains behind an
 * OpenAI-compatible HTTP endpoint until SIGTERM or SIGINT, then shuts down gracefully: stops
 * accepting, lets requests in flight finish (up to the shutdown deadline), closes the worker
 * pool and exits 0 — or 1 when the deadline passed and requests were cut (their streams get an
 * `error` event first). A second signal cuts the remaining requests at once.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaults } from '../../config/defaults.js';
import { formatZodError } from '../../data/zod-format.js';
import { ServeConfigError, durationMs, loadServeConfig, type ServeConfig } from '../../serve/serve-config.js';
import { createServeApp } from '../../serve/server.js';
import { log } from '../output.js';
import { UserError } from '../../errors/user-error.js';

const serveOptionsSchema = z.strictObject({
  config: z.string().min(1, 'give the serve config file: --config FILE'),
  port: z.coerce.number().int().min(0).max(65_535, '--port takes 0..65535 (0 picks a free port)').optional(),
  host: z.string().min(1).optional(),
  shutdownDeadlineMs: z.coerce
    .number({ error: '--shutdown-deadline-ms takes a whole number of milliseconds' })
    .pipe(durationMs('--shutdown-deadline-ms'))
    .optional(),
});

function readConfig(file: string): ServeConfig {
  try {
    return loadServeConfig(file);
  } catch (error) {
    if (error instanceof ServeConfigError) throw new UserError(error.message, { cause: error });
    throw error;
  }
}

/** Resolves with the first SIGTERM or SIGINT; a second one exits at once. */
function firstSignal(onSecond: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (received) return onSecond();
      received = true;
      resolve(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

async function serve(rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = serveOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc serve: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  const config = readConfig(options.config);
  if (options.shutdownDeadlineMs !== undefined) config.shutdownDeadlineMs = options.shutdownDeadlineMs;
  const server = createServeApp(config, {
    loadOptions: { prices: defaults.prices, usdPerCpuHour: defaults.localCost.usdPerCpuHour },
  });
  const signal = firstSignal(() => {
    log('dnc serve: second signal, cutting the requests still in flight');
    server.app.server.closeAllConnections();
    process.exit(1);
  });
  const url = await server
    .listen(options.port ?? config.port, options.host ?? config.host)
    .catch((error: unknown) => {
      throw new UserError(
        `dnc serve: cannot listen: ${error instanceof Error ? error.message : String(error)} (pick another --port or --host)`,
      );
    });
  log(`dnc serve: listening on ${url} (chains: ${config.chains.map((chain) => chain.name).join(', ')})`);
  if (config.apiKeys.length === 0)
    log(
      `dnc serve: WARNING: no apiKeys in ${options.config}: every route is open to anyone who can reach ${url}`,
    );
  const loaded = await Promise.race([server.ready.then(() => 'ready' as const), signal]).catch(
    async (error: unknown) => {
      await server.close(0);
      throw new UserError(
        `dnc serve: cannot load the bricks: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  );
  if (loaded === 'ready') log(`dnc serve: ready (${JSON.stringify(server.readiness.placements)})`);
  const received = loaded === 'ready' ? await signal : loaded;
  log(`dnc serve: ${received}: finishing requests in flight (up to ${config.shutdownDeadlineMs} ms)`);
  const { forced } = await server.close(config.shutdownDeadlineMs);
  log(forced ? 'dnc serve: deadline reached; cut the remaining requests' : 'dnc serve: stopped');
  // Cut requests are a failure of the shutdown: a supervisor should see it in the exit status.
  process.exitCode = forced ? 1 : 0;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve decomposer → solver chains behind an OpenAI-compatible HTTP endpoint')
    .requiredOption(
      '--config <file>',
      'serve config (JSON): { "chains": [...], "port"?, "host"?, "apiKeys"?, "limits"? }',
    )
    .option(
      '--port <n>',
      `port to listen on (default: the config's, else ${defaults.serve.port}; 0 picks a free one)`,
    )
    .option('--host <host>', `address to listen on (default: the config's, else ${defaults.serve.host})`)
    .option(
      '--shutdown-deadline-ms <ms>',
      `how long requests in flight may finish after SIGTERM (default ${defaults.serve.shutdownDeadlineMs})`,
    )
    .action(serve);
}
