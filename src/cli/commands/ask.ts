/**
 * `dnc ask --decomposer SPEC --solver SPEC [--mode static|dynamic|single] "question"`: runs one
 * chain on one question and prints the sub-questions, sub-answers, the final answer and the
 * cost table (`--json`: one object with the whole trace).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { defaults } from '../../config/defaults.js';
import { chainDecomposers, chainModeSchema, type Chain } from '../../data/schemas.js';
import { formatZodError } from '../../data/zod-format.js';
import type { Brick } from '../../runtime/bricks/brick.js';
import { BrickSpecError } from '../../runtime/bricks/brick-spec.js';
import { loadBrick } from '../../runtime/bricks/registry.js';
import { ChainConfigurationError, runChain } from '../../runtime/chain.js';
import type { ChainTrace } from '../../runtime/chain-trace.js';
import { loadChainRoutes } from '../../runtime/routing/route-file.js';
import { renderCostTable } from '../../runtime/cost-table.js';
import { log, printJson, printText } from '../output.js';
import { UserError } from '../../errors/user-error.js';

const askOptionsSchema = z.strictObject({
  decomposer: z.string().min(1).optional(),
  escalateTo: z.string().min(1).optional(),
  route: z.string().min(1).optional(),
  solver: z.string().min(1, 'give the solver brick, e.g. --solver reference'),
  mode: chainModeSchema.optional(),
  maxSubquestions: z.coerce.number().int().positive('--max-subquestions takes a positive integer').optional(),
  staticSolve: z.enum(['stepwise', 'one-call']).optional(),
  context: z.string().optional(),
  json: z.boolean().optional(),
});
type AskOptions = z.infer<typeof askOptionsSchema>;

function toChain(options: AskOptions): Chain {
  const mode = options.mode ?? (options.decomposer === undefined ? 'single' : 'static');
  if (mode !== 'single' && options.decomposer === undefined)
    throw new UserError(`--mode ${mode} needs a decomposer: add --decomposer SPEC (or use --mode single)`);
  const decomposer = mode === 'single' ? undefined : options.decomposer;
  if (mode === 'single' && options.decomposer !== undefined)
    log('note: --mode single uses the solver only; the decomposer is not called');
  const name = decomposer === undefined ? options.solver : `${decomposer}/${options.solver}`;
  const chain = { name, decomposer, solver: options.solver, mode, maxSubquestions: options.maxSubquestions };
  if (options.escalateTo === undefined && options.route === undefined) return chain;
  // A cascade: the decomposer answers; --escalate-to is asked when the route file's rule says so.
  if (decomposer === undefined || options.escalateTo === undefined || options.route === undefined)
    throw new UserError(
      'a cascade needs --decomposer SPEC, --escalate-to SPEC and --route ROUTE_FILE (from `dnc route calibrate`)',
    );
  return {
    ...chain,
    name: `${decomposer} → ${options.escalateTo}/${options.solver}`,
    decomposer: [decomposer, options.escalateTo],
    route: { file: options.route },
  };
}

async function load(spec: string, role: string): Promise<Brick> {
  try {
    return await loadBrick(spec, {
      prices: defaults.prices,
      usdPerCpuHour: defaults.localCost.usdPerCpuHour,
    });
  } catch (error) {
    if (error instanceof BrickSpecError) throw new UserError(`--${role}: ${error.message}`, { cause: error });
    throw new UserError(`--${role} '${spec}': ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

export function renderTrace(trace: ChainTrace): string {
  const lines: string[] = [];
  if (trace.subquestions.length > 0 || trace.mode !== 'single') {
    lines.push('Sub-questions:');
    if (trace.subquestions.length === 0) lines.push('  (none)');
    trace.subquestions.forEach((subquestion, index) =>
      lines.push(`  ${index + 1}. ${subquestion}`, `     → ${trace.subanswers[index] ?? '(no answer)'}`),
    );
    if (trace.unanswerable !== undefined && trace.unanswerable.index >= 0)
      lines.push(
        `  ${trace.subquestions.length + 1}. ${trace.unanswerable.subquestion}`,
        '     → (unanswerable)',
      );
    lines.push('');
  }
  lines.push(`Answer: ${trace.answer ?? '(none)'}`);
  if (trace.cascade !== undefined)
    lines.push(
      `Decided by: ${trace.cascade.decidedBy} (${trace.cascade.escalations} escalation(s); overruled decompositions cost $${trace.cascade.overruledUsd.toPrecision(3)})`,
    );
  if (trace.failure !== 'none') {
    const why = trace.unanswerable?.reason ?? trace.error;
    lines.push(`Failure: ${trace.failure}${why === undefined ? '' : ` (${why})`}`);
  }
  lines.push('', renderCostTable(trace.cost));
  return lines.join('\n');
}

async function ask(question: string, rawOptions: Record<string, unknown>): Promise<void> {
  const parsed = askOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UserError(`dnc ask: ${formatZodError(parsed.error)}`);
  const options = parsed.data;
  if (question.trim() === '')
    throw new UserError('dnc ask: the question is empty; pass it as one quoted argument');
  const [chain] = await loadChainRoutes([toChain(options)], process.cwd());
  const bricks: Brick[] = [];
  try {
    const solver = await load(chain.solver, 'solver');
    bricks.push(solver);
    const decomposers: Brick[] = [];
    for (const [index, spec] of chainDecomposers(chain).entries()) {
      decomposers.push(await load(spec, index === 0 ? 'decomposer' : 'escalate-to'));
      bricks.push(decomposers.at(-1)!);
    }
    const trace = await runChain(
      chain,
      { decomposer: decomposers.length > 1 ? decomposers : decomposers[0], solver },
      { question, context: options.context },
      { staticSolve: options.staticSolve },
    ).catch((error: unknown) => {
      if (error instanceof ChainConfigurationError) throw new UserError(error.message, { cause: error });
      throw error;
    });
    for (const warning of trace.warnings) log(`warning: ${warning}`);
    if (trace.failure === 'error') {
      const step = trace.steps.length;
      throw new UserError(`the chain failed at step ${step}: ${trace.error ?? 'unknown error'}`);
    }
    if (options.json === true) {
      const { chain: _name, cost, steps, ...rest } = trace;
      printJson({ ...rest, decomposer: chain.decomposer ?? null, solver: chain.solver, steps, cost });
    } else printText(renderTrace(trace));
  } finally {
    await Promise.all(bricks.map((brick) => brick.close?.()));
  }
}

export function register(program: Command): void {
  program
    .command('ask')
    .description('answer one question through a decomposer → solver chain and show what it cost')
    .argument('<question>', 'the question (quote it)')
    .option('--decomposer <spec>', 'decomposer brick: reference, gold, openai:MODEL or a brick directory')
    .option(
      '--escalate-to <spec>',
      'cascade: the decomposer asked when --decomposer is unsure (needs --route)',
    )
    .option('--route <file>', 'cascade: the route file written by `dnc route calibrate`')
    .requiredOption('--solver <spec>', 'solver brick: reference, openai:MODEL or a brick directory')
    .option('--mode <mode>', 'static, dynamic or single (default: static with a decomposer, else single)')
    .option('--max-subquestions <n>', `cap on sub-questions (default ${defaults.prompts.maxSubquestions})`)
    .option('--static-solve <how>', 'static mode: stepwise (one solve call per sub-question) or one-call')
    .option('--context <text>', 'context passage the question is about')
    .option('--json', 'print one JSON object with the whole trace')
    .action(ask);
}
