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
import { readBrickManifest, type BrickDecoding, type BrickManifest } from '../../export/brick-manifest.js';
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
import { decompositionFaults, missingNames, questionNames } from './decomposition-coverage.js';
import { CopyBiasProcessor } from '../generation/copy-bias.js';
import { CopyConstraintProcessor } from '../generation/copy-constraint.js';
import { type LogitsProcessor, TokenBiasProcessor } from '../generation/logits-processors.js';
import { generate, type GenerationResult } from '../generation/generate.js';
import { NameOrderProcessor } from '../generation/name-order-constraint.js';
import { PromptWordBiasProcessor } from '../generation/prompt-word-bias.js';
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

/** A sampled completion and how likely the brick found it (mean and lowest log-probability per token). */
export interface SampledText {
  text: string;
  meanLogProbability: number;
  minLogProbability: number;
  tokens: number;
}

/** A generation result's log-probabilities per token. */
function tokenLogProbabilities(result: GenerationResult) {
  return {
    meanLogProbability: result.logProbability / Math.max(1, result.generatedTokenCount),
    minLogProbability: result.minTokenLogProbability,
    tokens: result.generatedTokenCount,
  };
}

/** Sub-questions compared as a cascade's agreement signal compares them (case and spacing aside). */
function decompositionKey(subquestions: readonly string[]): string {
  return subquestions.map((subquestion) => subquestion.trim().replace(/\s+/g, ' ').toLowerCase()).join('\n');
}

export interface OnnxBrickOptions {
  usdPerCpuHour?: number;
  maxNewTokens?: number;
  /** onnxruntime intra-op threads for the decoder session. */
  intraOpNumThreads?: number;
  /** Overrides the decoding defaults of the brick's manifest. */
  decoding?: BrickDecoding;
}

export interface Completion {
  text: string;
  tokens: number[];
  report: BrickCallReport;
  /** Mean and lowest log-probability per generated token, and how many were generated. */
  confidence: { meanLogProbability: number; minLogProbability: number; tokens: number };
}

/** The brick's copy-bias processor from its decoding settings (none when the bias is 0 or unset). */
function copyBiasProcessor(decoding: BrickDecoding, tokenTexts: string[]): CopyBiasProcessor | undefined {
  const { copyBias = 0, copyMinMatch, copyScope = 'word' } = decoding;
  if (copyBias === 0) return undefined;
  if (copyScope === 'any') return new CopyBiasProcessor({ bias: copyBias, minMatch: copyMinMatch });
  // `word`: pieces inside a word always; the start of a capitalized word or a number (the next
  // word of a name) only after a long match. Punctuation and lower-case words stay the model's
  // choice, so a copy does not run on past where the output turns away from the prompt.
  const eligibleTokens = new Set<number>();
  const longMatchTokens = new Set<number>();
  tokenTexts.forEach((text, token) => {
    if (/^[\p{L}\p{N}]/u.test(text)) eligibleTokens.add(token);
    else if (/^ [\p{Lu}\p{N}]/u.test(text)) longMatchTokens.add(token);
  });
  return new CopyBiasProcessor({ bias: copyBias, minMatch: copyMinMatch, eligibleTokens, longMatchTokens });
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
  private readonly decoding: BrickDecoding;
  /** The text of each token alone (what the copy processors read; empty when they are off). */
  private readonly tokenTexts: string[];
  private readonly copyBias: CopyBiasProcessor | undefined;

  constructor(
    readonly spec: string,
    readonly manifest: BrickManifest,
    readonly tokenizer: Tokenizer,
    readonly decoder: OnnxDecoderModel,
    private readonly options: OnnxBrickOptions = {},
  ) {
    this.role = manifest.role;
    this.model = `onnx:${basename(spec)}`;
    this.decoding = { ...manifest.decoding, ...options.decoding };
    // Every token's text, read only for a brick that decodes with the copy processors.
    const copies =
      this.decoding.copyConstraint === true ||
      this.decoding.nameOrder === true ||
      (this.decoding.promptWordBias ?? 0) > 0 ||
      (this.decoding.copyBias ?? 0) > 0;
    this.tokenTexts = copies
      ? Array.from({ length: tokenizer.vocabSize }, (_, token) => tokenizer.decode([token]))
      : [];
    this.copyBias = copyBiasProcessor(this.decoding, this.tokenTexts);
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

  /** Fresh copy processors for one call (the constraint keeps per-prompt state). */
  private copyProcessors(): LogitsProcessor[] {
    const processors: LogitsProcessor[] = [];
    if (this.decoding.copyConstraint === true)
      processors.push(new CopyConstraintProcessor(this.tokenTexts, this.decoding.knownTerms));
    if (this.decoding.nameOrder === true)
      processors.push(new NameOrderProcessor(this.tokenTexts, this.decoding.knownTerms));
    if (this.copyBias !== undefined) processors.push(this.copyBias);
    if ((this.decoding.promptWordBias ?? 0) > 0)
      processors.push(
        new PromptWordBiasProcessor(this.tokenTexts, this.decoding.promptWordBias!, this.associatedTokens),
      );
    return processors;
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
    const prompt = this.tokenizer.encode(
      this.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }),
      { addSpecialTokens: false },
    );
    const warnings: string[] = [];
    let budget =
      maxNewTokens ??
      this.options.maxNewTokens ??
      this.decoder.config.maxNewTokens ??
      defaults.runtime.maxNewTokens;
    const context = this.decoder.config.maxPositions;
    if (context !== undefined && prompt.length + budget > context) {
      budget = Math.max(1, context - prompt.length);
      warnings.push(
        prompt.length >= context
          ? `the prompt (${prompt.length} tokens) is longer than the model's ${context}-token context; the answer is unreliable`
          : `the prompt (${prompt.length} tokens) leaves ${budget} of the ${context}-token context for the answer`,
      );
    }
    const results = await generate(
      this.decoder,
      Array.from({ length: count }, () => prompt),
      {
        maxNewTokens: budget,
        doSample,
        logitsProcessors: [...this.copyProcessors(), ...extraProcessors],
        decode: (tokens) => this.tokenizer.decode(tokens, { skipSpecialTokens: true }),
        signal,
      },
    );
    const cpuMs = cpuMilliseconds() - cpuStarted;
    const usage = {
      inputTokens: results.reduce((sum, result) => sum + result.promptTokenCount, 0),
      outputTokens: results.reduce((sum, result) => sum + result.generatedTokenCount, 0),
    };
    const usdPerCpuHour = this.options.usdPerCpuHour ?? defaults.localCost.usdPerCpuHour;
    const first = results[0]!;
    const report: BrickCallReport = {
      usage,
      latencyMs: performance.now() - started,
      costUsd: cpuCostUsd(cpuMs, usdPerCpuHour),
      flops: estimateFlops(this.manifest.parameters, usage.inputTokens + usage.outputTokens),
      cpuMs,
      raw: first.text ?? '',
      warnings,
      finishReason: first.finishReason === 'length' ? 'length' : 'stop',
      rawFinishReason: first.finishReason,
    };
    return { results, report };
  }

  private async decomposeQuestion(input: DecomposeInput): Promise<BrickResult<DecomposeOutput>> {
    const messages = renderDecomposePrompt(input, this.manifest.promptFormat.style);
    const greedy = await this.complete(messages, input.signal, input.maxNewTokens);
    let { report } = greedy;
    let confidence: DecompositionConfidence = greedy.confidence;
    let parsed = parseSubquestions(report.raw, input.maxSubquestions);
    const samples = this.decoding.coverageSamples ?? 0;
    const names = samples > 0 ? questionNames(input.question, this.tokenCount) : [];
    const faults = samples > 0 ? decompositionFaults(parsed, names) : [];
    if (faults.length > 0) {
      // Rejection sampling: the greedy answer has a fault no solver can repair (a name left out,
      // a sub-question asked twice, a reference forward); keep the first sample without one.
      // Samples lean towards the names the greedy answer left out (their first pieces gain
      // `missingNameBias`): where the model hesitated between two names, the other one is tried.
      const missing = new TokenBiasProcessor(
        this.firstPieces(missingNames(parsed, names)),
        defaults.runtime.missingNameBias,
      );
      const sampled = await this.sample(messages, samples, input.signal, [missing]);
      // The most likely sample (mean log-probability per token) among those without a fault: at
      // temperature 1 some samples are garbled text that happens to pass the checks.
      const sound = sampled.samples
        .map((sample) => ({ ...sample, parsed: parseSubquestions(sample.text, input.maxSubquestions) }))
        .filter((candidate) => decompositionFaults(candidate.parsed, names).length === 0)
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

  /** Each association key's answer words as their first tokens (after a space). */
  private get associatedTokens(): Map<string, number[]> {
    this.associationCache ??= new Map(
      Object.entries(this.decoding.associations ?? {}).map(([key, words]) => [
        key,
        words.map((word) => this.tokenizer.encode(` ${word}`, { addSpecialTokens: false })[0]!),
      ]),
    );
    return this.associationCache;
  }

  private associationCache: Map<string, number[]> | undefined;

  /** The first token of each name, written after a space and at the start of a line. */
  private firstPieces(names: readonly string[]): Set<number> {
    const pieces = new Set<number>();
    for (const name of names)
      for (const form of [` ${name}`, name]) {
        const first = this.tokenizer.encode(form, { addSpecialTokens: false })[0];
        if (first !== undefined) pieces.add(first);
      }
    return pieces;
  }

  private readonly tokenCount = (text: string): number =>
    this.tokenizer.encode(text, { addSpecialTokens: false }).length;

  private async proposeNext(input: NextSubquestionInput): Promise<BrickResult<NextSubquestionOutput>> {
    const { text, report } = await this.complete(
      renderNextSubquestionPrompt(input, this.manifest.promptFormat.style),
      input.signal,
      input.maxNewTokens,
    );
    const parsed = parseNextSubquestion(text);
    return {
      subquestion: parsed.subquestion,
      done: parsed.done,
      ...report,
      warnings: [...report.warnings, ...parsed.warnings],
    };
  }

  private async solveQuestion(input: SolveInput): Promise<BrickResult<SolveOutput>> {
    const { text, report } = await this.complete(
      renderSolvePrompt(input, this.manifest.promptFormat.style),
      input.signal,
      input.maxNewTokens,
    );
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
