/**
 * The `onnx` brick: a student exported by `dnc export` (or any brick directory in the same
 * layout), run locally. It renders the runtime's prompts in the style its brick.json names
 * (`promptFormat.style`: `instruct` or `compact`, as it was trained) with the tokenizer's chat template,
 * generates greedily until `<|end|>` (the generation config's end ids), parses the text with the
 * prompts module's tolerant parsers, and reports usage, latency, FLOPs (≈ 2 × parameters ×
 * tokens), CPU time and dollars at the configured $/CPU-hour. Everything is checked at load time:
 * a broken brick fails there with the file and the fix, not on the first question.
 */
import { basename, join } from 'node:path';
import { defaults } from '../../config/defaults.js';
import type { ChatMessage } from '../../data/schemas.js';
import { readBrickManifest, type BrickDecoding, type BrickManifest } from '../../bricks/brick-manifest.js';
import {
  parseNextSubquestion,
  parseSolution,
  parseSubquestions,
  renderDecomposePrompt,
  renderNextSubquestionPrompt,
  renderSolvePrompt,
} from '../../prompts/index.js';
import { Tokenizer } from '../../tokenizer/tokenizer.js';
import { cpuCostUsd, estimateFlops } from '../cost-meter.js';
import type { PreparedRecipe } from '../../decoding/recipe.js';
import { brickRecipe } from '../../decoding/registry.js';
import type { LogitsProcessor } from '../generation/logits-processors.js';
import { generate, type GenerationResult } from '../generation/generate.js';
import { OnnxDecoderModel } from '../onnx/onnx-decoder.js';
import type {
  Brick,
  BrickCallReport,
  BrickResult,
  BrickRole,
  DecomposeInput,
  DecompositionConfidence,
  DecomposeOutput,
  NextSubquestionInput,
  NextSubquestionOutput,
  SolveInput,
  SolveOutput,
} from './brick.js';
import type { BrickLoader } from './registry.js';
import { runBatch, tokenLogProbabilities, type BatchInput, type BatchMethod } from './onnx-brick-batch.js';

/** A sampled completion and how likely the brick found it (mean and lowest log-probability per token). */
export interface SampledText {
  text: string;
  meanLogProbability: number;
  minLogProbability: number;
  tokens: number;
}

/** A generation result's log-probabilities per token. */
/** Sub-questions compared as a cascade's agreement signal compares them (case and spacing aside). */
function decompositionKey(subquestions: readonly string[]): string {
  return subquestions.map((subquestion) => subquestion.trim().replace(/\s+/g, ' ').toLowerCase()).join('\n');
}

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

/** Two calls reported as one: usage, time and dollars add up; `raw` is the text that was kept. */
function combineReports(
  first: BrickCallReport,
  second: BrickCallReport,
  raw: string,
  warning: string,
): BrickCallReport {
  return {
    ...first,
    usage: {
      inputTokens: first.usage.inputTokens + second.usage.inputTokens,
      outputTokens: first.usage.outputTokens + second.usage.outputTokens,
    },
    latencyMs: first.latencyMs + second.latencyMs,
    costUsd: first.costUsd + second.costUsd,
    flops: (first.flops ?? 0) + (second.flops ?? 0),
    cpuMs: (first.cpuMs ?? 0) + (second.cpuMs ?? 0),
    raw,
    warnings: [...first.warnings, ...second.warnings, warning],
  };
}

function cpuMilliseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
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

  constructor(
    readonly spec: string,
    readonly manifest: BrickManifest,
    readonly tokenizer: Tokenizer,
    readonly decoder: OnnxDecoderModel,
    private readonly options: OnnxBrickOptions = {},
  ) {
    this.role = manifest.role;
    this.model = `onnx:${basename(spec)}`;
    const decoding = { ...manifest.decoding, ...options.decoding };
    const recipe = options.recipe === 'none' ? undefined : brickRecipe(decoding);
    this.recipe = recipe?.prepare(decoding, tokenizer);
    // A brick offers exactly the methods of its role, so a chain can tell a decomposer from a solver.
    if (this.role === 'decomposer') {
      this.decompose = (input) => this.decomposeQuestion(input);
      this.nextSubquestion = (input) => this.proposeNext(input);
    } else this.solve = (input) => this.solveQuestion(input);
  }

  static async load(directory: string, spec: string, options: OnnxBrickOptions = {}): Promise<OnnxBrick> {
    const manifest = await readBrickManifest(directory);
    const decoder = await OnnxDecoderModel.load(directory, { intraOpNumThreads: options.intraOpNumThreads });
    try {
      const tokenizer = await Tokenizer.load(directory);
      if (tokenizer.vocabSize > decoder.vocabSize)
        throw new Error(
          `${join(directory, 'tokenizer.json')} has ${tokenizer.vocabSize} tokens but ${join(directory, 'config.json')} ` +
            `says vocab_size ${decoder.vocabSize}; the tokenizer does not belong to this model: re-export the brick ` +
            'with the tokenizer it was trained with',
        );
      return new OnnxBrick(spec, manifest, tokenizer, decoder, options);
    } catch (error) {
      await decoder.close();
      throw error;
    }
  }

  /** Fresh processors of the brick's decoding recipe for one call (none without a recipe). */
  recipeProcessors(): LogitsProcessor[] {
    return this.recipe?.processors() ?? [];
  }

  /** Greedy completion of a chat (rendered with the chat template, assistant turn opened). */
  async complete(
    messages: readonly ChatMessage[],
    signal?: AbortSignal,
    maxNewTokens?: number,
  ): Promise<Completion> {
    const { results, report } = await this.generateRows(messages, 1, false, signal, maxNewTokens);
    const first = results[0]!;
    return { text: first.text ?? '', tokens: first.tokens, report, confidence: tokenLogProbabilities(first) };
  }

  /** `count` sampled completions of one chat in one batch (seeded, so a rerun gives the same). */
  async sample(
    messages: readonly ChatMessage[],
    count: number,
    signal?: AbortSignal,
    extraProcessors: readonly LogitsProcessor[] = [],
  ): Promise<{ samples: SampledText[]; report: BrickCallReport }> {
    const { results, report } = await this.generateRows(
      messages,
      count,
      true,
      signal,
      undefined,
      extraProcessors,
    );
    const samples = results.map((result) => ({ text: result.text ?? '', ...tokenLogProbabilities(result) }));
    return { samples, report };
  }

  /** The chat's tokens, rendered with the chat template, assistant turn opened. */
  promptTokens(messages: readonly ChatMessage[]): number[] {
    return this.tokenizer.encode(this.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    });
  }

  /** A call's token budget (the request's, else the brick's), cut to what the context leaves. */
  budgetFor(promptLength: number, maxNewTokens?: number): { budget: number; warnings: string[] } {
    const warnings: string[] = [];
    let budget =
      maxNewTokens ??
      this.options.maxNewTokens ??
      this.decoder.config.maxNewTokens ??
      defaults.runtime.maxNewTokens;
    const context = this.decoder.config.maxPositions;
    if (context !== undefined && promptLength + budget > context) {
      budget = Math.max(1, context - promptLength);
      warnings.push(
        promptLength >= context
          ? `the prompt (${promptLength} tokens) is longer than the model's ${context}-token context; the answer is unreliable`
          : `the prompt (${promptLength} tokens) leaves ${budget} of the ${context}-token context for the answer`,
      );
    }
    return { budget, warnings };
  }

  /** Dollars for CPU time at the configured $/CPU-hour. */
  costOf(cpuMs: number): number {
    return cpuCostUsd(cpuMs, this.options.usdPerCpuHour ?? defaults.localCost.usdPerCpuHour);
  }

  /** Runs the chat (rendered with the chat template, assistant turn opened) as `count` rows. */
  private async generateRows(
    messages: readonly ChatMessage[],
    count: number,
    doSample: boolean,
    signal?: AbortSignal,
    maxNewTokens?: number,
    extraProcessors: readonly LogitsProcessor[] = [],
  ): Promise<{ results: GenerationResult[]; report: BrickCallReport }> {
    const started = performance.now();
    const cpuStarted = cpuMilliseconds();
    const prompt = this.promptTokens(messages);
    const { budget, warnings } = this.budgetFor(prompt.length, maxNewTokens);
    const results = await generate(
      this.decoder,
      Array.from({ length: count }, () => prompt),
      {
        maxNewTokens: budget,
        doSample,
        logitsProcessors: [...this.recipeProcessors(), ...extraProcessors],
        decode: (tokens) => this.tokenizer.decode(tokens, { skipSpecialTokens: true }),
        signal,
      },
    );
    const cpuMs = cpuMilliseconds() - cpuStarted;
    const usage = {
      inputTokens: results.reduce((sum, result) => sum + result.promptTokenCount, 0),
      outputTokens: results.reduce((sum, result) => sum + result.generatedTokenCount, 0),
    };
    const first = results[0]!;
    const report: BrickCallReport = {
      usage,
      latencyMs: performance.now() - started,
      costUsd: this.costOf(cpuMs),
      flops: estimateFlops(this.manifest.parameters, usage.inputTokens + usage.outputTokens),
      cpuMs,
      raw: first.text ?? '',
      warnings,
      finishReason: first.finishReason === 'length' ? 'length' : 'stop',
      rawFinishReason: first.finishReason,
    };
    return { results, report };
  }

  /**
   * Several calls of one method as one greedy generation (a server's concurrent requests): each
   * call keeps its own token budget, processors and cancellation (onnx-brick-batch.ts).
   */
  callBatch(method: BatchMethod, inputs: readonly BatchInput[]): Promise<PromiseSettledResult<unknown>[]> {
    return runBatch(this, method, inputs);
  }

  /** The chat a method's greedy pass completes. */
  messagesFor(method: BatchMethod, input: BatchInput): ChatMessage[] {
    const style = this.manifest.promptFormat.style;
    if (method === 'decompose') return renderDecomposePrompt(input as DecomposeInput, style);
    if (method === 'nextSubquestion')
      return renderNextSubquestionPrompt(input as NextSubquestionInput, style);
    return renderSolvePrompt(input as SolveInput, style);
  }

  /** A method's result from its greedy pass, already run (a batch ran it for several calls). */
  finishWith(method: BatchMethod, input: BatchInput, greedy: Completion): Promise<unknown> {
    if (method === 'decompose') return this.decomposeQuestion(input as DecomposeInput, greedy);
    if (method === 'nextSubquestion') return this.proposeNext(input as NextSubquestionInput, greedy);
    return this.solveQuestion(input as SolveInput, greedy);
  }

  private async decomposeQuestion(
    input: DecomposeInput,
    precomputed?: Completion,
  ): Promise<BrickResult<DecomposeOutput>> {
    const messages = renderDecomposePrompt(input, this.manifest.promptFormat.style);
    const greedy = precomputed ?? (await this.complete(messages, input.signal, input.maxNewTokens));
    let { report } = greedy;
    let confidence: DecompositionConfidence = greedy.confidence;
    let parsed = parseSubquestions(report.raw, input.maxSubquestions);
    const reranker = this.recipe?.reranker;
    const faults = reranker === undefined ? [] : reranker.faults(input.question, parsed);
    if (reranker !== undefined && faults.length > 0) {
      // Rejection sampling: the greedy answer has a fault the recipe says no solver can repair
      // (for copy-names: a name left out, a sub-question asked twice, a reference forward); keep
      // the most likely sample without one, drawn with the recipe's resampling processors.
      const samples = reranker.samples;
      const hints = reranker.resampleProcessors(input.question, parsed);
      const sampled = await this.sample(messages, samples, input.signal, hints);
      // The most likely sample (mean log-probability per token) among those without a fault: at
      // temperature 1 some samples are garbled text that happens to pass the checks.
      const sound = sampled.samples
        .map((sample) => ({ ...sample, parsed: parseSubquestions(sample.text, input.maxSubquestions) }))
        .filter((candidate) => reranker.faults(input.question, candidate.parsed).length === 0)
        .sort((left, right) => right.meanLogProbability - left.meanLogProbability)[0];
      const note =
        sound === undefined
          ? `the decomposition ${faults.join('; ')}, and so did all ${samples} samples drawn to replace it`
          : `the greedy decomposition ${faults.join('; ')}; a sample without faults replaced it`;
      report = combineReports(report, sampled.report, sound?.text ?? report.raw, note);
      if (sound !== undefined) {
        parsed = sound.parsed;
        confidence = {
          meanLogProbability: sound.meanLogProbability,
          minLogProbability: sound.minLogProbability,
          tokens: sound.tokens,
        };
      }
    }
    const agreementSamples = input.confidenceSamples ?? 0;
    if (agreementSamples > 0) {
      // Self-consistency: how many sampled decompositions equal the one kept (a cascade's signal).
      const drawn = await this.sample(messages, agreementSamples, input.signal);
      const kept = decompositionKey(parsed.subquestions);
      const agreeing = drawn.samples.filter(
        (sample) =>
          decompositionKey(parseSubquestions(sample.text, input.maxSubquestions).subquestions) === kept,
      ).length;
      confidence = { ...confidence, agreement: agreeing / agreementSamples, samples: agreementSamples };
      // The samples' cost joins the call's; agreement is a measurement, not a repair: no warning.
      report = {
        ...combineReports(report, drawn.report, report.raw, ''),
        warnings: [...report.warnings, ...drawn.report.warnings],
      };
    }
    const kind = parsed.kind === 'unparseable' ? 'failed' : parsed.kind;
    return {
      subquestions: parsed.subquestions,
      kind,
      truncated: parsed.truncated,
      confidence,
      ...report,
      warnings: [...report.warnings, ...parsed.warnings],
    };
  }

  private async proposeNext(
    input: NextSubquestionInput,
    precomputed?: Completion,
  ): Promise<BrickResult<NextSubquestionOutput>> {
    const { text, report } =
      precomputed ??
      (await this.complete(
        renderNextSubquestionPrompt(input, this.manifest.promptFormat.style),
        input.signal,
        input.maxNewTokens,
      ));
    const parsed = parseNextSubquestion(text);
    return {
      subquestion: parsed.subquestion,
      done: parsed.done,
      ...report,
      warnings: [...report.warnings, ...parsed.warnings],
    };
  }

  private async solveQuestion(
    input: SolveInput,
    precomputed?: Completion,
  ): Promise<BrickResult<SolveOutput>> {
    const { text, report } =
      precomputed ??
      (await this.complete(
        renderSolvePrompt(input, this.manifest.promptFormat.style),
        input.signal,
        input.maxNewTokens,
      ));
    const parsed = parseSolution(text, input.subquestions.length);
    const solved: BrickResult<SolveOutput> = {
      subanswers: parsed.subanswers,
      answer: parsed.answer,
      ...report,
      warnings: [...report.warnings, ...parsed.warnings],
    };
    if (parsed.answer === undefined) {
      const index = parsed.subanswers.length < input.subquestions.length ? parsed.subanswers.length : -1;
      solved.unanswerable = {
        index,
        subquestion: index === -1 ? input.question : input.subquestions[index],
        reason: 'the student gave no final answer',
      };
    }
    return solved;
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
