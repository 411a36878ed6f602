/**
 * Per-dataset expert routing of the mixture-of-experts decomposer bricks an eval ran (LibMoE's
 * metrics): for each MoE decomposer brick and eval dataset, per mixture layer, the share of routed
 * tokens each expert received, the mean routing entropy and the utilization, as the training log
 * reports them (src/student/moe-metrics.ts).
 *
 * Which tokens: each example's decompose prompt as the brick saw it (its prompt style and chat
 * template), followed by the decomposition the chain got from it (the trace's sub-questions,
 * re-rendered as numbered lines) when the chain is static with this brick as its only decomposer
 * and the example did not fail with an error; otherwise the prompt alone. The tokens are
 * teacher-forced through the training graph (one extra forward per example, not the decoder's
 * generation), which routes a token exactly as generation does, since routing depends only on the
 * token's prefix. The ONNX decoder is not changed, so every brick loads as before.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaults } from '../config/defaults.js';
import { readBrickManifest } from '../bricks/brick-manifest.js';
import { chainDecomposers, type Chain, type Example } from '../data/schemas.js';
import { type Feeds, tensor } from '../engine/session.js';
import { NO_DECOMPOSITION, renderDecomposition } from '../prompts/index.js';
import { methodMessages } from '../runtime/bricks/onnx-brick-prompt.js';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { type StudentArchitecture } from '../student/config.js';
import { architectureFromMixtralConfig, isMixtralConfig } from '../student/moe-brick-architecture.js';
import { RoutingMetrics } from '../student/moe-metrics.js';
import { readSafetensors } from '../student/safetensors.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import { type LoadedDataset } from './datasets.js';
import { type ReportExpertRouting } from './report-schema.js';
import { type Trace } from './trace-schema.js';

export interface ExpertRoutingInput {
  chains: readonly Chain[];
  datasets: readonly LoadedDataset[];
  traces: readonly Trace[];
  /** Resolves relative brick directories. */
  cwd: string;
  /** Sequences per forward pass (default 8). */
  rows?: number;
}

interface MixtureBrick {
  spec: string;
  directory: string;
  architecture: StudentArchitecture;
}

/** The decomposer specs of the suite that are MoE brick directories (config.json model_type mixtral). */
async function mixtureBricks(chains: readonly Chain[], cwd: string): Promise<MixtureBrick[]> {
  const specs = [...new Set(chains.flatMap((chain) => chainDecomposers(chain)))];
  const found: MixtureBrick[] = [];
  for (const spec of specs) {
    const parsed = parseBrickSpec(spec);
    if (parsed.path === undefined) continue;
    const directory = resolve(cwd, parsed.path);
    const configFile = join(directory, 'config.json');
    const config = await readFile(configFile, 'utf8').then(
      (text) => JSON.parse(text) as unknown,
      () => undefined, // an adapter or remote brick directory: no MoE config to read
    );
    if (config === undefined || !isMixtralConfig(config)) continue;
    found.push({ spec, directory, architecture: architectureFromMixtralConfig(config, configFile) });
  }
  return found;
}

/** The token ids of one example: its decompose prompt, and the decomposition when there is one. */
function exampleTokens(
  tokenizer: Tokenizer,
  style: Parameters<typeof methodMessages>[2],
  example: Example,
  maxSubquestions: number,
  trace: Trace | undefined,
): number[] {
  const messages = methodMessages(
    'decompose',
    {
      question: example.question,
      ...(example.context === undefined ? {} : { context: example.context }),
      maxSubquestions,
    },
    style,
  );
  if (trace === undefined) {
    return tokenizer.encode(tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    });
  }
  const answer = trace.subquestions.length === 0 ? NO_DECOMPOSITION : renderDecomposition(trace.subquestions);
  return tokenizer.encode(
    tokenizer.applyChatTemplate([...messages, { role: 'assistant', content: answer }], {
      addGenerationPrompt: false,
    }),
    { addSpecialTokens: false },
  );
}

/** Batches of `rows` sequences padded to `length` (segment 1 on real tokens, 0 on padding and empty rows). */
function routingBatches(sequences: readonly number[][], rows: number, length: number): Feeds[] {
  const batches: Feeds[] = [];
  for (let start = 0; start < sequences.length; start += rows) {
    const ids = new BigInt64Array(rows * length);
    const segments = new BigInt64Array(rows * length);
    sequences.slice(start, start + rows).forEach((sequence, row) => {
      sequence.slice(0, length).forEach((id, position) => {
        ids[row * length + position] = BigInt(id);
        segments[row * length + position] = 1n;
      });
    });
    batches.push({
      input_ids: tensor('int64', ids, [rows, length]),
      segment_ids: tensor('int64', segments, [rows, length]),
    });
  }
  return batches;
}

/** The chain whose traces stand for the brick's decompositions: static, with this brick alone. */
function answeringChain(chains: readonly Chain[], spec: string): Chain | undefined {
  return chains.find(
    (chain) =>
      chain.mode === 'static' && chainDecomposers(chain).length === 1 && chainDecomposers(chain)[0] === spec,
  );
}

async function measureBrick(brick: MixtureBrick, input: ExpertRoutingInput): Promise<ReportExpertRouting> {
  const manifest = await readBrickManifest(brick.directory);
  const tokenizer = await Tokenizer.load(brick.directory);
  const { tensors } = await readSafetensors(join(brick.directory, 'model.safetensors'));
  const weights = new Map([...tensors].map(([name, value]) => [name, value.data]));
  const chain = answeringChain(input.chains, brick.spec);
  const user = input.chains.find((candidate) => chainDecomposers(candidate).includes(brick.spec));
  const maxSubquestions = user?.maxSubquestions ?? defaults.prompts.maxSubquestions;
  const traces = new Map(
    input.traces
      .filter((trace) => trace.chain === chain?.name && trace.failure !== 'error')
      .map((trace) => [JSON.stringify([trace.dataset, trace.exampleId]), trace]),
  );
  const perDataset = input.datasets.map((dataset) => ({
    dataset: dataset.name,
    sequences: dataset.examples.map((example) =>
      exampleTokens(
        tokenizer,
        manifest.promptFormat.style,
        example,
        maxSubquestions,
        traces.get(JSON.stringify([dataset.name, example.id])),
      ),
    ),
  }));
  const longest = Math.max(
    1,
    ...perDataset.flatMap((entry) => entry.sequences.map((sequence) => sequence.length)),
  );
  const length = Math.min(longest, brick.architecture.maxPositionEmbeddings);
  const rows = input.rows ?? 8;
  const metrics = await RoutingMetrics.create(brick.architecture, rows, length);
  if (metrics === undefined) throw new Error(`expert routing: ${brick.spec} has no mixture layers`);
  try {
    const datasets = [];
    for (const entry of perDataset)
      datasets.push({
        dataset: entry.dataset,
        examples: entry.sequences.length,
        tokens: entry.sequences.reduce((sum, sequence) => sum + Math.min(sequence.length, length), 0),
        layers: await metrics.measure(weights, routingBatches(entry.sequences, rows, length)),
      });
    return {
      decomposer: brick.spec,
      experts: brick.architecture.moe!.experts,
      topK: brick.architecture.moe!.topK,
      router: brick.architecture.moe!.router,
      // Prompts alone when no trace of a static chain of this brick gave a decomposition.
      tokens: traces.size === 0 ? 'prompt' : 'prompt+decomposition',
      datasets,
    };
  } finally {
    await metrics.release();
  }
}

/** Routing of every MoE decomposer brick of the suite on every dataset (empty when there is none). */
export async function measureExpertRouting(input: ExpertRoutingInput): Promise<ReportExpertRouting[]> {
  const bricks = await mixtureBricks(input.chains, input.cwd);
  const measured: ReportExpertRouting[] = [];
  for (const brick of bricks) measured.push(await measureBrick(brick, input));
  return measured;
}
