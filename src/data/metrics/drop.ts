/**
 * DROP's answer metric, ported from the official `drop_eval.py` (allenai): answers are bags
 * of spans; each span is normalized (per token: lower case, punctuation removed unless the
 * token is a number, numbers canonicalized, articles removed); EM compares the span sets;
 * F1 aligns predicted and gold spans one-to-one with the assignment that maximizes the
 * total F1 (scipy's `linear_sum_assignment` in the original), and a span pair whose gold
 * holds numbers scores 0 unless they share a number. F1 is rounded to 2 places as there.
 */

export interface DropScore {
  exactMatch: number;
  f1: number;
}

const asciiPunctuation = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** Python's `float(text)` succeeds (a plain, signed or scientific number, or inf/nan). */
function isNumber(text: string): boolean {
  return /^\s*[+-]?(?:(?:\d[\d_]*)?\.?\d[\d_]*(?:e[+-]?\d+)?|\d+\.|inf|infinity|nan)\s*$/i.test(text);
}

function normalizeNumber(text: string): string {
  return isNumber(text)
    ? String(Number(text.replace(/_/g, '').replace(/^(\s*[+-]?)inf\b/i, '$1Infinity')))
    : text;
}

function removePunctuation(text: string): string {
  if (isNumber(text)) return text;
  return [...text].filter((character) => !asciiPunctuation.has(character)).join('');
}

function normalizeSpan(text: string): string {
  return text
    .split(/[ -]/)
    .map((token) => normalizeNumber(removePunctuation(token.toLowerCase())))
    .map((token) =>
      token
        .replace(/\b(a|an|the)\b/g, ' ')
        .split(/\s+/)
        .filter(Boolean)
        .join(' '),
    )
    .filter((part) => part.trim() !== '')
    .join(' ')
    .trim();
}

function toBags(spans: readonly string[]): { normalized: string[]; bags: Set<string>[] } {
  const normalized = spans.map(normalizeSpan);
  return { normalized, bags: normalized.map((span) => new Set(span.split(/\s+/).filter(Boolean))) };
}

function bagF1(predicted: Set<string>, gold: Set<string>): number {
  let intersection = 0;
  for (const token of gold) if (predicted.has(token)) intersection += 1;
  const precision = predicted.size === 0 ? 1 : intersection / predicted.size;
  const recall = gold.size === 0 ? 1 : intersection / gold.size;
  return precision === 0 && recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

function numbersMatchIfPresent(gold: Set<string>, predicted: Set<string>): boolean {
  const goldNumbers = [...gold].filter(isNumber);
  if (goldNumbers.length === 0) return true;
  return goldNumbers.some((number) => [...predicted].some((word) => isNumber(word) && word === number));
}

/**
 * The best one-to-one assignment of rows to columns maximizing the summed score. Answers
 * hold a handful of spans, so an exact search over subsets (bitmask dynamic programming) is
 * simpler than porting the Hungarian algorithm; it is capped at 16 columns (larger bags are
 * truncated, which no real DROP answer reaches).
 */
function bestAssignment(scores: number[][], columns: number): number[] {
  const usable = Math.min(columns, 16);
  const rows = scores.length;
  const memo = new Map<number, { total: number; picks: number[] }>();
  const solve = (row: number, used: number): { total: number; picks: number[] } => {
    if (row === rows) return { total: 0, picks: [] };
    const key = row * (1 << usable) + used;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    const skip = solve(row + 1, used);
    let best = { total: skip.total, picks: [0, ...skip.picks] };
    for (let column = 0; column < usable; column += 1) {
      if ((used & (1 << column)) !== 0) continue;
      const rest = solve(row + 1, used | (1 << column));
      const total = (scores[row]?.[column] ?? 0) + rest.total;
      if (total > best.total) best = { total, picks: [scores[row]?.[column] ?? 0, ...rest.picks] };
    }
    memo.set(key, best);
    return best;
  };
  return solve(0, 0).picks;
}

/** DROP EM and F1 of one prediction (a bag of spans) against one gold answer (a bag). */
export function dropMetrics(predicted: readonly string[], gold: readonly string[]): DropScore {
  const predictedBags = toBags(predicted);
  const goldBags = toBags(gold);
  const predictedSet = new Set(predictedBags.normalized);
  const goldSet = new Set(goldBags.normalized);
  const sameSpans =
    predictedSet.size === goldSet.size &&
    [...predictedSet].every((span) => goldSet.has(span)) &&
    predictedBags.normalized.length === goldBags.normalized.length;
  const scores = goldBags.bags.map((goldBag) =>
    predictedBags.bags.map((predictedBag) =>
      numbersMatchIfPresent(goldBag, predictedBag) ? bagF1(predictedBag, goldBag) : 0,
    ),
  );
  const perGold = bestAssignment(scores, predictedBags.bags.length);
  const slots = Math.max(gold.length, predicted.length);
  const f1 = slots === 0 ? 0 : perGold.reduce((sum, value) => sum + value, 0) / slots;
  return { exactMatch: sameSpans ? 1 : 0, f1: Math.round(f1 * 100) / 100 };
}

/** The best DROP score over several acceptable gold answers (the original plus validated). */
export function dropScore(predicted: readonly string[], golds: readonly (readonly string[])[]): DropScore {
  let best: DropScore = { exactMatch: 0, f1: 0 };
  for (const gold of golds) {
    const score = dropMetrics(predicted, gold);
    best = { exactMatch: Math.max(best.exactMatch, score.exactMatch), f1: Math.max(best.f1, score.f1) };
  }
  return best;
}

/**
 * Splits a free-text prediction into spans when the gold has several (`A, B and C`,
 * `A; B`, `A | B`); commas inside numbers (`1,000`) do not split.
 */
export function splitPredictedSpans(prediction: string, goldSpanCount: number): string[] {
  if (goldSpanCount <= 1) return [prediction];
  return prediction
    .split(/\s*(?:;|\||,(?!\d{3}\b)|\band\b)\s*/)
    .map((span) => span.trim())
    .filter((span) => span !== '');
}
