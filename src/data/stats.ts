/**
 * Dataset statistics over Examples (`dnc data stats`): sizes, answer types, gold
 * decompositions, template/phrasing diversity (synthetic worlds set `meta.template` and
 * `meta.phrasing`) and question vocabulary. Computed in one streaming pass.
 */
import type { Example } from './schemas.js';

export interface DatasetStats {
  count: number;
  answerTypes: Record<string, number>;
  datasets: Record<string, number>;
  /** Examples with a gold decomposition. */
  withGold: number;
  withContext: number;
  /** Mean number of gold sub-questions over the examples that have a gold decomposition (0 if none). */
  meanSubquestions: number;
  /** Histogram: number of gold sub-questions → examples (examples without gold are not counted). */
  subquestionCounts: Record<string, number>;
  /** Distinct `meta.template` values (0 if none). */
  templates: number;
  /** Distinct `meta.phrasing` values (0 if none). */
  phrasings: number;
  /** Distinct lower-case word tokens over all questions. */
  vocabularySize: number;
  meanQuestionWords: number;
  /** Examples per `meta.template` (present only when some example has a template). */
  byTemplate?: Record<string, number>;
}

/** Lower-case word tokens: letters and digits, with inner apostrophes (`janet's`). */
export function questionWords(question: string): string[] {
  return question.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu) ?? [];
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function metaKey(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface StatsAccumulator {
  add(example: Example): void;
  result(): DatasetStats;
}

export function createStatsAccumulator(): StatsAccumulator {
  const answerTypes: Record<string, number> = {};
  const datasets: Record<string, number> = {};
  const subquestionCounts: Record<string, number> = {};
  const byTemplate: Record<string, number> = {};
  const phrasings = new Set<string>();
  const vocabulary = new Set<string>();
  let count = 0;
  let withGold = 0;
  let withContext = 0;
  let subquestionTotal = 0;
  let questionWordTotal = 0;

  return {
    add(example) {
      count += 1;
      increment(answerTypes, example.answerType);
      increment(datasets, example.dataset);
      if (example.context !== undefined && example.context !== '') withContext += 1;
      if (example.gold !== undefined) {
        withGold += 1;
        subquestionTotal += example.gold.subquestions.length;
        increment(subquestionCounts, String(example.gold.subquestions.length));
      }
      const template = metaKey(example.meta?.template);
      if (template !== undefined) increment(byTemplate, template);
      const phrasing = metaKey(example.meta?.phrasing);
      if (phrasing !== undefined) phrasings.add(phrasing);
      const words = questionWords(example.question);
      questionWordTotal += words.length;
      for (const word of words) vocabulary.add(word);
    },
    result() {
      const templates = Object.keys(byTemplate).length;
      return {
        count,
        answerTypes,
        datasets,
        withGold,
        withContext,
        meanSubquestions: withGold === 0 ? 0 : subquestionTotal / withGold,
        subquestionCounts,
        templates,
        phrasings: phrasings.size,
        vocabularySize: vocabulary.size,
        meanQuestionWords: count === 0 ? 0 : questionWordTotal / count,
        ...(templates > 0 ? { byTemplate } : {}),
      };
    },
  };
}

export function computeStats(examples: Iterable<Example>): DatasetStats {
  const accumulator = createStatsAccumulator();
  for (const example of examples) accumulator.add(example);
  return accumulator.result();
}

function formatCounts(counts: Record<string, number>, numericKeys = false): string {
  const entries = Object.entries(counts);
  if (numericKeys) entries.sort(([left], [right]) => Number(left) - Number(right));
  else entries.sort(([, left], [, right]) => right - left);
  return entries.length === 0 ? '-' : entries.map(([key, value]) => `${key}: ${value}`).join(', ');
}

/** A small two-column table for people. */
export function formatStatsTable(stats: DatasetStats): string {
  const rows: [string, string][] = [
    ['examples', String(stats.count)],
    ['datasets', formatCounts(stats.datasets)],
    ['answer types', formatCounts(stats.answerTypes)],
    ['with context', String(stats.withContext)],
    ['with gold', String(stats.withGold)],
    ['mean sub-questions', stats.meanSubquestions.toFixed(2)],
    ['sub-question counts', formatCounts(stats.subquestionCounts, true)],
    ['templates', String(stats.templates)],
    ['phrasings', String(stats.phrasings)],
    ['vocabulary size', String(stats.vocabularySize)],
    ['mean question words', stats.meanQuestionWords.toFixed(1)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
