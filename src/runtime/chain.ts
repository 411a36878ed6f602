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
import { chainDecomposers, chainSchema, type Chain, type Example } from '../data/schemas.js';
import { substituteReferences } from '../data/subquestion-references.js';
import { formatZodError } from '../data/zod-format.js';
import type {
  AnsweredSubquestion,
  Brick,
  BrickCallReport,
  DecomposeOutput,
  SolveOutput,
} from './bricks/brick.js';
import type { CascadeOutcome, ChainFailure, ChainStep, ChainTrace, RouteDecision } from './chain-trace.js';
import { decompositionFaults } from './routing/decomposition-faults.js';
import { routeSamples, type InlineRoute } from '../data/route-schema.js';
import { brickGivesSignal, signalValue } from './routing/route-signal.js';
import { decompositionFeatures } from './routing/scorer.js';
import { CostMeter, type Stage } from './cost-meter.js';

export interface ChainBricks {
  /** One decomposer, or a cascade's decomposers in the chain's order (cheapest first). */
  decomposer?: Brick | readonly Brick[];
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
  /** The most tokens each brick call may generate (a served request's `max_tokens`). */
  maxNewTokens?: number;
  /**
   * Cascades (eval probes): only decomposer k is asked, with the inputs the cascade gives it, and
   * its decomposition is kept whatever the route says (the route's verdict is still recorded).
   */
  probeDecomposer?: number;
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
  const decomposers = decomposerBricks(bricks);
  if (decomposers.length === 0)
    throw new ChainConfigurationError(`${name}: mode '${chain.mode}' needs a decomposer brick`);
  const specs = chainDecomposers(chain);
  if (decomposers.length !== specs.length)
    throw new ChainConfigurationError(
      `${name}: names ${specs.length} decomposer(s) but was given ${decomposers.length} brick(s)`,
    );
  for (const decomposer of decomposers) {
    const method = chain.mode === 'static' ? decomposer.decompose : decomposer.nextSubquestion;
    if (method === undefined)
      throw new ChainConfigurationError(
        `${name}: brick '${decomposer.spec}' cannot decompose in ${chain.mode} mode; pick a decomposer brick or another mode`,
      );
  }
  if (decomposers.length > 1) checkCascadeRoute(chain, decomposers);
}

/** A cascade's route must be loaded (not a file reference) and readable from every brick but the last. */
function checkCascadeRoute(chain: Chain, decomposers: readonly Brick[]): void {
  const name = `chain '${chain.name}'`;
  const route = chain.route;
  if (route === undefined || 'file' in route)
    throw new ChainConfigurationError(
      `${name}: its route file ${route === undefined ? '' : `${route.file} `}was not loaded; load chains with loadChainRoutes() first`,
    );
  for (const decomposer of decomposers.slice(0, -1))
    if (!brickGivesSignal(decomposer.kind, route.by))
      throw new ChainConfigurationError(
        `${name}: brick '${decomposer.spec}' (${decomposer.kind}) cannot give the route signal '${route.by}' ` +
          '(only local onnx bricks report log-probabilities and samples); put it last in the cascade or route by another brick',
      );
}

function decomposerBricks(bricks: ChainBricks): readonly Brick[] {
  const decomposer = bricks.decomposer;
  if (decomposer === undefined) return [];
  return Array.isArray(decomposer) ? decomposer : [decomposer as Brick];
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
  cascade: CascadeOutcome | undefined;

  constructor(
    readonly chain: Chain,
    readonly bricks: ChainBricks,
    readonly input: ChainInput,
    readonly options: ChainOptions,
    readonly cap: number,
  ) {}

  /** The decomposer (a cascade's first brick until one decides). */
  get decomposer(): Brick {
    return decomposerBricks(this.bricks)[0]!;
  }

  get previous(): AnsweredSubquestion[] {
    return this.subquestions.map((subquestion, index) => ({ subquestion, answer: this.subanswers[index] }));
  }

  base() {
    const { question, context, example } = this.input;
    const { signal, maxNewTokens } = this.options;
    return { question, context, example, signal, ...(maxNewTokens !== undefined ? { maxNewTokens } : {}) };
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
  const decomposers = decomposerBricks(run.bricks);
  if (decomposers.length > 1) {
    const decided = await runCascade(run, decomposers, run.chain.route as InlineRoute);
    return solveStatic(run, decided);
  }
  const decomposer = run.decomposer;
  const decompose = decomposer.decompose as NonNullable<Brick['decompose']>;
  const result = await decompose.call(decomposer, { ...run.base(), maxSubquestions: run.cap });
  run.record('decompose', decomposer, result, { subquestions: capped(run, result.subquestions) });
  return solveStatic(run, result);
}

function capped(run: Run, proposed: string[]): string[] {
  if (proposed.length <= run.cap) return proposed;
  run.warnings.push(`the decomposer proposed ${proposed.length} sub-questions; kept the first ${run.cap}`);
  return proposed.slice(0, run.cap);
}

/**
 * A cascade: the decomposers answer in order, cheapest first; each but the last is overruled
 * (the next one is asked) when its decomposition has a fault or its confidence is under the
 * route's threshold. A threshold of +Infinity overrules every decomposer but the last whatever
 * it says, so those are not asked at all (the chain is then the last decomposer's chain exactly).
 */
async function runCascade(
  run: Run,
  decomposers: readonly Brick[],
  route: InlineRoute,
): Promise<DecomposeOutput> {
  const probe = run.options.probeDecomposer;
  if (probe !== undefined && (probe < 0 || probe >= decomposers.length))
    throw new ChainConfigurationError(`chain '${run.chain.name}' has no decomposer ${probe} to probe`);
  const first = probe ?? (route.threshold === Infinity ? decomposers.length - 1 : 0);
  let overruledUsd = 0;
  for (let index = first; ; index += 1) {
    const decomposer = decomposers[index]!;
    const last = index === decomposers.length - 1;
    const samples = last ? 0 : routeSamples(route);
    const decompose = decomposer.decompose as NonNullable<Brick['decompose']>;
    const result = await decompose.call(decomposer, {
      ...run.base(),
      maxSubquestions: run.cap,
      ...(samples > 0 ? { confidenceSamples: samples } : {}),
    });
    const faults = decompositionFaults(result, run.cap);
    const value = last ? undefined : signalValue(route, result);
    // A brick that measured nothing cannot be trusted (checkChainBricks keeps such bricks last).
    const overruled = !last && (faults.length > 0 || value === undefined || value < route.threshold);
    const escalated = probe === undefined && overruled;
    const decision: RouteDecision = {
      signal: route.by,
      threshold: route.threshold,
      faults,
      features: decompositionFeatures(result),
      escalated,
    };
    if (value !== undefined) decision.value = value;
    if (result.confidence !== undefined) decision.confidence = result.confidence;
    run.record('decompose', decomposer, result, {
      subquestions: capped(run, result.subquestions),
      route: decision,
    });
    if (!escalated) {
      run.cascade = {
        decidedBy: decomposer.spec,
        decidedAt: index,
        escalations: index - first,
        overruledUsd,
      };
      return result;
    }
    overruledUsd += result.costUsd + (result.savedUsd ?? 0);
  }
}

async function solveStatic(run: Run, result: DecomposeOutput): Promise<void> {
  const subquestions = result.subquestions.slice(0, run.cap);
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
  if (run.cascade !== undefined) trace.cascade = run.cascade;
  if (error !== undefined) trace.error = error;
  if (run.unanswerable !== undefined) trace.unanswerable = run.unanswerable;
  return trace;
}

/** The bricks of a chain, each spec looked up once by `brickFor` (a cascade gets its list in order). */
export function chainBricksFor(chain: Chain, brickFor: (spec: string) => Brick): ChainBricks {
  const specs = chainDecomposers(chain);
  const decomposers = specs.map(brickFor);
  return {
    decomposer:
      decomposers.length === 0 ? undefined : decomposers.length === 1 ? decomposers[0] : decomposers,
    solver: brickFor(chain.solver),
  };
}
