/**
 * What a training checkpoint's manifest records about the run: architecture, lineage, metrics
 * and the facts about the training answers that decoding reads back (answer terms, word
 * associations, the longest answer).
 */
import { type CheckpointManifest } from '../export/checkpoint.js';
import { fitDecodingData } from '../decoding/registry.js';
import { type PreparedRun, type TrainOptions } from './prepare-run.js';
import { type TrainingState } from './training-checkpoint.js';
import { trainingPairs } from './training-pairs.js';

/** What the checkpoint manifest records about the training answers (read once per run). */
export interface AnswerFacts {
  longestAnswerTokens: number;
  answerTerms: string[];
  answerAssociations: Record<string, string[]>;
}

/** The most loss-masked tokens (assistant text + its end token) of one training document. */
function longestAnswerTokens(run: PreparedRun): number {
  let longest = 0;
  for (const document of run.train.documents) {
    let count = 0;
    for (const flag of document.lossMask) count += flag;
    longest = Math.max(longest, count);
  }
  return longest;
}

export function answerFacts(run: PreparedRun): AnswerFacts {
  const pairs = trainingPairs(run.train.documents, run.tokenizer);
  // Every recipe's fitted data is recorded, so that export can turn any recipe on later.
  const facts = { longestAnswerTokens: longestAnswerTokens(run), ...fitDecodingData(pairs) };
  const old = run.growth?.record.oldAnswerFacts;
  // A grown student still answers its old data: its decoding knows both runs' answers.
  return old === undefined ? facts : mergeAnswerFacts(old, facts);
}

/** Both runs' facts: every term and association of either (old first), the longer answer. */
export function mergeAnswerFacts(old: AnswerFacts, added: AnswerFacts): AnswerFacts {
  const answerAssociations: Record<string, string[]> = { ...old.answerAssociations };
  for (const [key, words] of Object.entries(added.answerAssociations))
    answerAssociations[key] = [...new Set([...(answerAssociations[key] ?? []), ...words])];
  return {
    longestAnswerTokens: Math.max(old.longestAnswerTokens, added.longestAnswerTokens),
    answerTerms: [...new Set([...old.answerTerms, ...added.answerTerms])],
    answerAssociations,
  };
}

export function manifestFor(
  run: PreparedRun,
  options: TrainOptions,
  state: TrainingState,
  answers: AnswerFacts,
): CheckpointManifest {
  const { settings } = run;
  return {
    role: options.role,
    architecture: run.architecture,
    lineage: {
      dataHash: run.dataHash,
      teacher: options.teacher ?? null,
      training: { preset: run.presetName, steps: state.step, ...settings },
    },
    metrics: {
      steps: state.step,
      trainLoss: state.progress.trainLoss,
      validationLoss: state.progress.validationLoss,
      longestAnswerTokens: answers.longestAnswerTokens,
    },
    answerTerms: answers.answerTerms,
    answerAssociations: answers.answerAssociations,
    ...(run.base === undefined ? {} : { base: run.base.reference }),
  };
}
