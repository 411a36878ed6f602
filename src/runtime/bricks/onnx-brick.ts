/**
 * The `onnx` brick: a student exported by `dnc export` (or any brick directory in the same
 * layout), run locally. It is a generic runner of a decoding recipe: it renders the runtime's
 * prompts in the style its brick.json names (onnx-brick-prompt.ts), generates until `<|end|>` with
 * the processors of the recipe its manifest turns on (onnx-brick-recipe.ts; none: plain greedy
 * decoding), lets the recipe's reranker replace a faulty decomposition, parses the text
 * (onnx-brick-results.ts), and meters usage, latency, FLOPs, CPU time and dollars at the configured
 * $/CPU-hour (onnx-brick-cost.ts). Everything is checked at load time (onnx-brick-loading.ts).
 */
import { basename } from 'node:path';
import { defaults } from '../../config/defaults.js';
import type { ChatMessage } from '../../data/schemas.js';
import type { BrickDecoding, BrickManifest } from '../../bricks/brick-manifest.js';
import type { PreparedRecipe } from '../../decoding/recipe.js';
import { parseSubquestions } from '../../prompts/index.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { cpuCostUsd } from '../cost-meter.js';
import type { LogitsProcessor } from '../../decoding/logits-processor.js';
import { generate, type GenerationResult } from '../generation/generate.js';
import type { OnnxDecoderModel } from '../onnx/onnx-decoder.js';
import type {
  Brick,
  BrickCallReport,
  BrickResult,
  BrickRole,
  DecomposeInput,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from './brick.js';
import type { BrickLoader } from './registry.js';
import {
  runBatch,
  tokenLogProbabilities,
  type BatchInput,
  type BatchMethod,
  type BatchOptions,
} from './onnx-brick-batch.js';
import { measureAgreement } from './onnx-brick-agreement.js';
import { brickPromptPrefixes } from './onnx-brick-prefix.js';
import { CallMeter, cpuClockFor, generationReport, type CpuClock } from './onnx-brick-cost.js';
import { loadOnnxBrickFiles } from './onnx-brick-loading.js';
import { chatPromptTokens, methodMessages, tokenBudget } from './onnx-brick-prompt.js';
import { prepareBrickRecipe, rerankDecomposition } from './onnx-brick-recipe.js';
import { decompositionResult, nextSubquestionResult, solveResult } from './onnx-brick-results.js';
import type { DrawSamples, KeptDecomposition, SampledText } from './onnx-brick-sampling.js';

export type { SampledText } from './onnx-brick-sampling.js';

export interface OnnxBrickOptions {
  usdPerCpuHour?: number;
  maxNewTokens?: number;
  /** onnxruntime intra-op threads for the decoder session. */
  intraOpNumThreads?: number;
  /** Overrides the decoding settings of the brick's manifest. */
  decoding?: BrickDecoding;
  /**
   * `brick` (default): decode with the recipe the manifest names (src/decoding); `none`: plain
   * decoding, no recipe processors and no reranker (as transformers.js would run the model).
   */
  recipe?: 'brick' | 'none';
}

export interface Completion {
  text: string;
  tokens: number[];
  report: BrickCallReport;
  /** Mean and lowest log-probability per generated token, and how many were generated. */
  confidence: { meanLogProbability: number; minLogProbability: number; tokens: number };
}

/** One call's own limits: its cancellation and its token budget (absent: the brick's). */
export interface CallLimits {
  signal?: AbortSignal;
  maxNewTokens?: number;
}

/** A chat run as `count` rows of one generation. */
interface RowsRequest extends CallLimits {
  messages: readonly ChatMessage[];
  count: number;
  doSample: boolean;
  /** Processors besides the recipe's (a reranker's resampling hints). */
  processors?: readonly LogitsProcessor[];
}

export class OnnxBrick implements Brick {
  readonly specificationVersion = 'v1' as const;
  readonly kind = 'onnx' as const;
  readonly role: BrickRole;
  readonly model: string;
  decompose?: (input: DecomposeInput) => Promise<BrickResult<DecomposeOutput>>;
  nextSubquestion?: (input: NextSubquestionInput) => Promise<BrickResult<NextSubquestionOutput>>;
  solve?: (input: SolveInput) => Promise<BrickResult<SolveOutput>>;
  /** The decoding recipe the brick runs (src/decoding), bound to its settings; none: plain decoding. */
  readonly recipe: PreparedRecipe | undefined;
  /** What a call's CPU time is read from (onnx-brick-cost.ts). */
  readonly cpuClock: CpuClock;

  constructor(
    readonly spec: string,
    readonly manifest: BrickManifest,
    readonly tokenizer: Tokenizer,
    readonly decoder: OnnxDecoderModel,
    private readonly options: OnnxBrickOptions = {},
  ) {
    this.role = manifest.role;
    this.model = `onnx:${basename(spec)}`;
    this.cpuClock = cpuClockFor(options.intraOpNumThreads);
    this.recipe = prepareBrickRecipe(
      { decoding: { ...manifest.decoding, ...options.decoding }, recipe: options.recipe ?? 'brick' },
      tokenizer,
    );
    // A brick offers exactly the methods of its role, so a chain can tell a decomposer from a solver.
    if (this.role === 'decomposer') {
      this.decompose = (input) => this.decomposeQuestion(input);
      this.nextSubquestion = (input) => this.proposeNext(input);
    } else this.solve = (input) => this.solveQuestion(input);
  }

  static async load(directory: string, spec: string, options: OnnxBrickOptions = {}): Promise<OnnxBrick> {
    const { manifest, tokenizer, decoder } = await loadOnnxBrickFiles(directory, {
      intraOpNumThreads: options.intraOpNumThreads,
    });
    return new OnnxBrick(spec, manifest, tokenizer, decoder, options);
  }

  /** Fresh processors of the brick's decoding recipe for one call (none without a recipe). */
  recipeProcessors(): LogitsProcessor[] {
    return this.recipe?.processors() ?? [];
  }

  /** Greedy completion of a chat (rendered with the chat template, assistant turn opened). */
  async complete(messages: readonly ChatMessage[], limits: CallLimits = {}): Promise<Completion> {
    const { results, report } = await this.generateRows({ ...limits, messages, count: 1, doSample: false });
    const first = results[0]!;
    return { text: first.text ?? '', tokens: first.tokens, report, confidence: tokenLogProbabilities(first) };
  }

  /** `count` sampled completions of one chat in one batch (seeded, so a rerun gives the same). */
  async sample(
    messages: readonly ChatMessage[],
    request: { count: number; signal?: AbortSignal; processors?: readonly LogitsProcessor[] },
  ): Promise<{ samples: SampledText[]; report: BrickCallReport }> {
    const { results, report } = await this.generateRows({ ...request, messages, doSample: true });
    const samples = results.map((result) => ({ text: result.text ?? '', ...tokenLogProbabilities(result) }));
    return { samples, report };
  }

  /** The chat's tokens, rendered with the chat template, assistant turn opened. */
  promptTokens(messages: readonly ChatMessage[]): number[] {
    return chatPromptTokens(this.tokenizer, messages);
  }

  /** A call's token budget (the request's, else the brick's), cut to what the context leaves. */
  budgetFor(promptLength: number, maxNewTokens?: number): { budget: number; warnings: string[] } {
    return tokenBudget({
      promptLength,
      requested:
        maxNewTokens ??
        this.options.maxNewTokens ??
        this.decoder.config.maxNewTokens ??
        defaults.runtime.maxNewTokens,
      context: this.decoder.config.maxPositions,
    });
  }

  /** Dollars for CPU time at the configured $/CPU-hour. */
  costOf(cpuMs: number): number {
    return cpuCostUsd(cpuMs, this.options.usdPerCpuHour ?? defaults.localCost.usdPerCpuHour);
  }

  /** Runs the chat (rendered with the chat template, assistant turn opened) as `count` rows. */
  private async generateRows(
    request: RowsRequest,
  ): Promise<{ results: GenerationResult[]; report: BrickCallReport }> {
    const meter = new CallMeter(this.cpuClock);
    const prompt = this.promptTokens(request.messages);
    const { budget, warnings } = this.budgetFor(prompt.length, request.maxNewTokens);
    // The template's shared prefix (an instruct brick's system prompt), cached: only the rest is prefilled.
    const prefix = await brickPromptPrefixes(this).prefixFor(request.messages, prompt);
    const results = await generate(
      this.decoder,
      Array.from({ length: request.count }, () => prompt),
      {
        maxNewTokens: budget,
        doSample: request.doSample,
        logitsProcessors: [...this.recipeProcessors(), ...(request.processors ?? [])],
        decode: (tokens) => this.tokenizer.decode(tokens, { skipSpecialTokens: true }),
        signal: request.signal,
        prefix,
      },
    );
    const report = generationReport({
      results,
      times: meter.elapsed(),
      parameters: this.manifest.parameters,
      costOf: (cpuMs) => this.costOf(cpuMs),
      warnings,
    });
    return { results, report };
  }

  /**
   * Several calls of one method as one greedy generation (a server's concurrent requests): each
   * call keeps its own token budget, processors and cancellation (onnx-brick-batch.ts).
   */
  callBatch(
    method: BatchMethod,
    inputs: readonly BatchInput[],
    options: BatchOptions = {},
  ): Promise<PromiseSettledResult<unknown>[]> {
    return runBatch(this, method, inputs, options);
  }

  /** The chat a method's greedy pass completes. */
  messagesFor(method: BatchMethod, input: BatchInput): ChatMessage[] {
    return methodMessages(method, input, this.manifest.promptFormat.style);
  }

  /** A method's result from its greedy pass, already run (a batch ran it for several calls). */
  finishWith(method: BatchMethod, input: BatchInput, greedy: Completion): Promise<unknown> {
    if (method === 'decompose') return this.decomposeQuestion(input as DecomposeInput, greedy);
    if (method === 'nextSubquestion') return this.proposeNext(input as NextSubquestionInput, greedy);
    return this.solveQuestion(input as SolveInput, greedy);
  }

  /** The greedy pass of a call (or the one a batch already ran). */
  private greedyPass(method: BatchMethod, input: BatchInput, precomputed?: Completion): Promise<Completion> {
    if (precomputed !== undefined) return Promise.resolve(precomputed);
    const { signal, maxNewTokens } = input;
    return this.complete(this.messagesFor(method, input), { signal, maxNewTokens });
  }

  /** Greedy pass, then the recipe's reranker, then agreement samples when the call asks for them. */
  private async decomposeQuestion(
    input: DecomposeInput,
    precomputed?: Completion,
  ): Promise<BrickResult<DecomposeOutput>> {
    const messages = this.messagesFor('decompose', input);
    const greedy = await this.greedyPass('decompose', input, precomputed);
    const { question, maxSubquestions, signal } = input;
    const draw: DrawSamples = (request) => this.sample(messages, { ...request, signal });
    let kept: KeptDecomposition = {
      parsed: parseSubquestions(greedy.report.raw, maxSubquestions),
      report: greedy.report,
      confidence: greedy.confidence,
    };
    const reranker = this.recipe?.reranker;
    if (reranker !== undefined)
      kept = await rerankDecomposition({ reranker, question, maxSubquestions, greedy: kept, draw });
    const samples = input.confidenceSamples ?? 0;
    if (samples > 0) kept = await measureAgreement({ kept, samples, maxSubquestions, draw });
    return decompositionResult(kept);
  }

  private async proposeNext(
    input: NextSubquestionInput,
    precomputed?: Completion,
  ): Promise<BrickResult<NextSubquestionOutput>> {
    const { text, report } = await this.greedyPass('nextSubquestion', input, precomputed);
    return nextSubquestionResult(text, report);
  }

  private async solveQuestion(
    input: SolveInput,
    precomputed?: Completion,
  ): Promise<BrickResult<SolveOutput>> {
    const { text, report } = await this.greedyPass('solve', input, precomputed);
    return solveResult(input, text, report);
  }

  async close(): Promise<void> {
    await this.decoder.close();
  }
}

export const onnxBrickLoader: BrickLoader = {
  kind: 'onnx',
  load: async (spec, options) =>
    OnnxBrick.load(spec.path ?? spec.spec, spec.spec, {
      usdPerCpuHour: options.usdPerCpuHour,
      intraOpNumThreads: options.localThreads,
    }),
};
