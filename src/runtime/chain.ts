/**
 * Chains: a decomposer brick in front of a solver brick.
 * - `single`: the solver answers the whole question.
 * - `static`: the decomposer proposes every sub-question first; the solver then answers them
 *   in order, each with the earlier answers given and `#k` replaced by answer k (`stepwise`),
 *   or all in one call (`one-call`, the paper's cheaper variant).
 * - `dynamic`: after each answer the decomposer proposes the next sub-question, until it says
 *   done or the cap is reached.
 * A failing brick call ends the chain with failure `error` (the trace keeps the steps so far);
 * cancellation and misconfigured chains throw.
 */
import { defaults } from '../config/defaults.js';
import { chainSchema, type Chain, type Example } from '../data/schemas.js';
import { substituteReferences } from '../data/subquestion-references.js';
import { formatZodError } from '../data/zod-format.js';
import type { AnsweredSubquestion, Brick, BrickCallReport, SolveOutput } from './bricks/brick.js';
import type { ChainFailure, ChainStep, ChainTrace } from './chain-trace.js';
import { CostMeter, type Stage } from './cost-meter.js';

export interface ChainBricks {
  decomposer?: Brick;
  solver: Brick;
}

export interface ChainInput {
  question: string;
  context?: string;
  /** The dataset example, when the question comes from one (needed by the `gold` brick). */
  example?: Example;
}

export interface ChainOptions {
  /** The sub-question cap when the chain sets none (default `defaults.prompts.maxSubquestions`). */
  maxSubquestions?: number;
  staticSolve?: 'stepwise' | 'one-call';
  signal?: AbortSignal;
  /** Called as each step completes (serve streams them). */
  onStep?: (step: ChainStep) => void;
}

/** A chain whose bricks cannot play their parts; thrown before any call is made. */
export class ChainConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainConfigurationError';
  }
}

/** Checks that the bricks have the methods the chain's mode needs. */
export function checkChainBricks(chain: Chain, bricks: ChainBricks): void {
  const parsed = chainSchema.safeParse(chain);
  if (!parsed.success) throw new ChainConfigurationError(`chain: ${formatZodError(parsed.error)}`);
  const name = `chain '${chain.name}'`;
  if (bricks.solver.solve === undefined)
    throw new ChainConfigurationError(
      `${name}: brick '${bricks.solver.spec}' cannot solve (it is a ${bricks.solver.role ?? 'decomposer'} only); pick a solver brick`,
    );
  if (chain.mode === 'single') return;
  const decomposer = bricks.decomposer;
  if (decomposer === undefined)
    throw new ChainConfigurationError(`${name}: mode '${chain.mode}' needs a decomposer brick`);
  const method = chain.mode === 'static' ? decomposer.decompose : decomposer.nextSubquestion;
  if (method === undefined)
    throw new ChainConfigurationError(
      `${name}: brick '${decomposer.spec}' cannot decompose in ${chain.mode} mode; pick a decomposer brick or another mode`,
    );
}

/** Chain-run state shared by the mode functions. */
class Run {
  readonly steps: ChainStep[] = [];
  readonly subquestions: string[] = [];
  readonly subanswers: string[] = [];
  readonly warnings: string[] = [];
  answer: string | undefined;
  failure: ChainFailure = 'none';
  unanswerable: SolveOutput['unanswerable'];

  constructor(
    readonly chain: Chain,
    readonly bricks: ChainBricks,
    readonly input: ChainInput,
    readonly options: ChainOptions,
    readonly cap: number,
  ) {}

  get decomposer(): Brick {
    return this.bricks.decomposer as Brick;
  }

  get previous(): AnsweredSubquestion[] {
    return this.subquestions.map((subquestion, index) => ({ subquestion, answer: this.subanswers[index] }));
  }

  base() {
    const { question, context, example } = this.input;
    return { question, context, example, signal: this.options.signal };
  }

  record(stage: Stage, brick: Brick, report: BrickCallReport, details: Partial<ChainStep>): void {
    const step: ChainStep = {
      index: this.steps.length,
      stage,
      brick: brick.spec,
      kind: brick.kind,
      usage: report.usage,
      latencyMs: report.latencyMs,
      costUsd: report.costUsd,
      savedUsd: report.savedUsd,
      cached: report.cached,
      flops: report.flops,
      cpuMs: report.cpuMs,
      simulated: report.simulated,
      raw: report.raw,
      warnings: report.warnings,
      finishReason: report.finishReason,
      ...details,
    };
    this.steps.push(step);
    this.warnings.push(
      ...report.warnings.map((warning) => `step ${step.index} (${stage}, ${brick.spec}): ${warning}`),
    );
    this.options.onStep?.(step);
  }

  /** Solves one sub-question (`#k` substituted); false when the solver could not. */
  async solveStep(subquestion: string): Promise<boolean> {
    const solver = this.bricks.solver;
    const resolved = substituteReferences(subquestion, this.subanswers);
    const solve = solver.solve as NonNullable<Brick['solve']>;
    const result = await solve.call(solver, {
      ...this.base(),
      subquestions: [resolved],
      previous: this.previous,
    });
    const subanswer = result.subanswers[0] ?? (result.unanswerable === undefined ? result.answer : undefined);
    this.record('solve', solver, result, { subquestion: resolved, answer: subanswer });
    if (subanswer === undefined) {
      this.failure = 'unanswerable-subquestion';
      this.unanswerable = result.unanswerable ?? {
        index: this.subquestions.length,
        subquestion: resolved,
        reason: 'the solver gave no answer',
      };
      return false;
    }
    this.subquestions.push(resolved);
    this.subanswers.push(subanswer);
    this.answer = result.answer;
    return true;
  }

  /** The solver answers the whole question directly (single mode, or no decomposition needed). */
  async solveDirectly(): Promise<void> {
    const solver = this.bricks.solver;
    const solve = solver.solve as NonNullable<Brick['solve']>;
    const result = await solve.call(solver, { ...this.base(), subquestions: [], previous: [] });
    this.record('solve', solver, result, { answer: result.answer });
    this.answer = result.answer;
    if (result.unanswerable !== undefined) {
      this.failure = 'unanswerable-subquestion';
      this.unanswerable = result.unanswerable;
    } else if (result.answer === undefined) this.failure = 'no-answer';
  }

  /** After the sub-questions: the last solve's final answer, else the last sub-answer. */
  settleAnswer(): void {
    if (this.failure !== 'none' || this.answer !== undefined) return;
    const last = this.subanswers.at(-1);
    if (last === undefined) {
      this.failure = 'no-answer';
      return;
    }
    this.answer = last;
    this.warnings.push('the solver gave no final answer; took the last sub-answer');
  }
}

async function runSingle(run: Run): Promise<void> {
  await run.solveDirectly();
}

async function runStatic(run: Run): Promise<void> {
  const decomposer = run.decomposer;
  const decompose = decomposer.decompose as NonNullable<Brick['decompose']>;
  const result = await decompose.call(decomposer, { ...run.base(), maxSubquestions: run.cap });
  let subquestions = result.subquestions;
  if (subquestions.length > run.cap) {
    run.warnings.push(
      `the decomposer proposed ${subquestions.length} sub-questions; kept the first ${run.cap}`,
    );
    subquestions = subquestions.slice(0, run.cap);
  }
  run.record('decompose', decomposer, result, { subquestions });
  if (result.kind === 'failed') {
    run.failure = 'no-decomposition';
    return;
  }
  if (subquestions.length === 0) return run.solveDirectly();
  if ((run.options.staticSolve ?? defaults.runtime.staticSolve) === 'one-call')
    return solveInOneCall(run, subquestions);
  for (const subquestion of subquestions) if (!(await run.solveStep(subquestion))) return;
  run.settleAnswer();
}

async function solveInOneCall(run: Run, subquestions: string[]): Promise<void> {
  const solver = run.bricks.solver;
  const solve = solver.solve as NonNullable<Brick['solve']>;
  const result = await solve.call(solver, { ...run.base(), subquestions, previous: [] });
  run.record('solve', solver, result, { subquestions, subanswers: result.subanswers, answer: result.answer });
  run.subquestions.push(...subquestions.slice(0, result.subanswers.length));
  run.subanswers.push(...result.subanswers);
  run.answer = result.answer;
  if (result.unanswerable !== undefined) {
    run.failure = 'unanswerable-subquestion';
    run.unanswerable = result.unanswerable;
    return;
  }
  run.settleAnswer();
}

async function runDynamic(run: Run): Promise<void> {
  const decomposer = run.decomposer;
  const next = decomposer.nextSubquestion as NonNullable<Brick['nextSubquestion']>;
  while (run.subquestions.length < run.cap) {
    const result = await next.call(decomposer, {
      ...run.base(),
      previous: run.previous,
      maxSubquestions: run.cap,
    });
    run.record('decompose', decomposer, result, { subquestion: result.subquestion ?? undefined });
    if (result.subquestion === null) {
      if (result.done) break;
      if (run.subquestions.length === 0) {
        run.failure = 'no-decomposition';
        return;
      }
      run.warnings.push('the decomposer gave no usable next sub-question; stopped asking');
      break;
    }
    if (!(await run.solveStep(result.subquestion))) return;
  }
  if (run.subquestions.length >= run.cap)
    run.warnings.push(`reached the cap of ${run.cap} sub-questions; stopped asking`);
  if (run.subquestions.length === 0) return run.solveDirectly();
  run.settleAnswer();
}

const modes = { single: runSingle, static: runStatic, dynamic: runDynamic } as const;

export async function runChain(
  chain: Chain,
  bricks: ChainBricks,
  input: ChainInput,
  options: ChainOptions = {},
): Promise<ChainTrace> {
  checkChainBricks(chain, bricks);
  const cap = chain.maxSubquestions ?? options.maxSubquestions ?? defaults.prompts.maxSubquestions;
  const run = new Run(chain, bricks, input, options, cap);
  const startedAt = performance.now();
  let error: string | undefined;
  try {
    await modes[chain.mode](run);
  } catch (caught) {
    if (options.signal?.aborted === true) throw caught;
    run.failure = 'error';
    error = caught instanceof Error ? caught.message : String(caught);
  }
  const meter = new CostMeter();
  meter.addAll(run.steps);
  const trace: ChainTrace = {
    chain: chain.name,
    mode: chain.mode,
    question: input.question,
    subquestions: run.subquestions,
    subanswers: run.subanswers,
    answer: run.failure === 'none' ? run.answer : undefined,
    failure: run.failure,
    steps: run.steps,
    warnings: run.warnings,
    cost: meter.summary(),
    latencyMs: performance.now() - startedAt,
  };
  if (error !== undefined) trace.error = error;
  if (run.unanswerable !== undefined) trace.unanswerable = run.unanswerable;
  return trace;
}
