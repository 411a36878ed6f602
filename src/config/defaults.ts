/**
 * Every configurable default of dnc in one typed object. A pipeline file overrides these,
 * and command-line flags override the pipeline file. Each stage owns one section.
 */
export interface ModelPrice {
  /** Dollars per million input tokens. */
  inputPerMillion: number;
  /** Dollars per million output tokens. */
  outputPerMillion: number;
}

export const defaults = {
  /**
   * Remote prices, dollars per million tokens. `reference` is the synthetic worlds' expert:
   * it costs nothing to run, and its price simulates a large remote model so that reports
   * can show what the same traffic would cost; reports label it as simulated.
   */
  prices: {
    'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
    'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
    'gpt-4.1': { inputPerMillion: 2, outputPerMillion: 8 },
    'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 },
    'gpt-3.5-turbo': { inputPerMillion: 0.5, outputPerMillion: 1.5 },
    reference: { inputPerMillion: 2.5, outputPerMillion: 10 },
  } as Record<string, ModelPrice>,
  /** Local bricks are priced by measured CPU time. */
  localCost: { usdPerCpuHour: 0.05 },
  /** Decomposition prompt settings shared by teachers and bricks. */
  prompts: { maxSubquestions: 6 },
  /** `dnc collect`: teacher requests, retries and filtering. */
  collect: {
    concurrency: 8,
    /** Teacher answers per key before an invalid output is final (reruns do not add more). */
    maxAttempts: 3,
    /** `all` keeps every valid decomposition (SD-T); `correct` keeps those that reached the gold answer (SD-R). */
    filter: 'all' as 'all' | 'correct',
    /** With `correct`: ask a non-deterministic teacher for a second decomposition when the first chain fails. */
    secondSample: false,
    requestTimeoutMs: 60_000,
    maxRetries: 4,
    maxOutputTokens: 512,
    /** Temperature of first samples and of second samples. */
    temperature: 0,
    sampleTemperature: 0.7,
    /** Batch API: price factor (OpenAI bills batches at half price) and poll interval. */
    batchPriceFactor: 0.5,
    batchPollIntervalMs: 10_000,
  },
  /**
   * Chains and local generation. `staticSolve`: `stepwise` solves static sub-questions one call
   * each (earlier answers given, `#k` substituted); `one-call` sends them all in one solve call.
   */
  /**
   * Chains and local bricks: how a static chain solves, the generation budget, and the score a
   * decomposer's resamples add to the first pieces of the names its greedy answer left out.
   */
  runtime: {
    staticSolve: 'stepwise' as 'stepwise' | 'one-call',
    maxNewTokens: 256,
    missingNameBias: 4,
  },
  /**
   * `dnc eval`: examples in flight at once (a suite's `concurrency` overrides it), worker threads
   * for local bricks, and the seed and resamples of the bootstrap 95% intervals.
   */
  /**
   * `dnc eval`: local (ONNX) bricks run in `localThreads` worker threads, one per core here; calls
   * to one local brick that arrive together run as one batched generation of up to `batchSize`
   * (a window of `batchWaitMs` while another batch runs; as `dnc serve` does).
   */
  eval: {
    concurrency: 8,
    localThreads: 2,
    batchSize: 8,
    batchWaitMs: 5,
    bootstrapSeed: 0,
    bootstrapResamples: 1000,
  },
  /**
   * `dnc train`: the validation split (fraction, with a floor; sets smaller than
   * `validationMinimumSet` get none), early stopping after `patience` evaluations without a
   * validation improvement of at least `minDelta`, the cosine schedule's floor (a fraction of the
   * peak learning rate), divergence detection (loss above `explodeFactor` × the first loss), and
   * how many step checkpoints stay on disk (besides the best validation step's). Training refuses
   * fewer than `minimumExamples` examples (or no validation set) unless `--allow-small-data`.
   */
  train: {
    minimumExamples: 50,
    validationFraction: 0.05,
    validationMinimum: 4,
    validationMinimumSet: 20,
    patience: 5,
    minDelta: 1e-3,
    minLearningRateFraction: 0.1,
    explodeFactor: 3,
    keepCheckpoints: 2,
  },
  /**
   * `dnc train --base MODEL_DIR`: the training defaults of a pretrained student (there is no preset),
   * by mode. LoRA takes a larger learning rate than full fine-tuning, as PEFT recipes do; both warm
   * up briefly and clip at 1. Flags override each value.
   */
  pretrained: {
    lora: { learningRate: 2e-4, weightDecay: 0 },
    full: { learningRate: 2e-5, weightDecay: 0.01 },
    training: {
      warmupSteps: 20,
      batchSize: 4,
      sequenceLength: 512,
      gradientClip: 1,
      evalEvery: 50,
      checkpointEvery: 50,
      maxSteps: 2000,
      epochs: 3,
      seed: 0,
    },
  },
  /**
   * `dnc train --backend openai`: the budget (dollars) above which the estimated training cost
   * needs `--yes` (0: any priced job asks), the job poll interval, and the epochs the estimate
   * assumes when the service chooses them (`auto`).
   */
  fineTuning: { maxUsd: 0, pollIntervalMs: 10_000, assumedEpochs: 3 },
  /**
   * `dnc serve`: listen address, request limits (body bytes, `max_tokens` cap, sub-question cap,
   * per-request timeout, chains running at once and waiting), main-thread concurrency per remote
   * brick, worker threads for local bricks, and the shutdown deadline for requests in flight.
   */
  serve: {
    host: '127.0.0.1',
    port: 8080,
    limits: {
      bodyBytes: 1_048_576,
      maxTokens: 4096,
      maxSubquestions: 8,
      timeoutMs: 60_000,
      receiveTimeoutMs: 30_000,
      questionChars: 4_000,
      queueSize: 64,
      concurrency: 8,
      /** Concurrent calls to one local brick run as one batch of up to this many (1: no batching). */
      batchSize: 8,
      /** Longest a call waits for others to join its batch while another runs (an idle brick: no wait). */
      batchWaitMs: 5,
      /**
       * true: a call joins the brick's running generation at its next step, instead of the
       * batchWaitMs window. Off by default: measured no faster than the window at 8 clients and
       * slower at 32 on the tiny brick (docs/serving.md).
       */
      continuousBatching: false,
    },
    remoteConcurrency: 16,
    workerThreads: 2,
    shutdownDeadlineMs: 10_000,
  },
} as const;

export type Defaults = typeof defaults;
