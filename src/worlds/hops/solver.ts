/**
 * The hops half of the reference solver: answers a sub-question only when it asks for ONE
 * fact of the knowledge base about a named entity (or verifies one), compares two values
 * that the sub-question itself states, or checks two stated answers for equality.
 * Anything that would need a further lookup is refused.
 */
import { compilePhraseMatcher, type WorkMeter } from '../phrase-matcher.js';
import { formatNumber, normalizeText, parseNumber, tidySentence } from '../text.js';
import type { KnowledgeBase } from './knowledge-base.js';
import type { HopsParser } from './parser.js';
import { planQuestion } from './question-tree.js';
import type { HopsQuestion } from './question-tree.js';
import { readStatedValues } from './stated-values.js';

export type HopsStepResult = { ok: true; answer: string } | { ok: false; reason: string };

const smallerWords =
  /\b(earlier|earliest|first|smaller|smallest|lower|lowest|less|least|fewer|fewest|older|oldest|sooner)\b/i;
const largerWords =
  /\b(later|latest|last|larger|largest|bigger|biggest|greater|greatest|higher|highest|more|most|younger|youngest|recently)\b/i;
const equalityPatterns = [
  compilePhraseMatcher('Are {X} and {Y} the same?'),
  compilePhraseMatcher('Are {X} and {Y} the same entity?'),
  compilePhraseMatcher('Is {X} the same as {Y}?'),
  compilePhraseMatcher('Are {X} and {Y} equal?'),
];

export function solveHopsStep(
  parser: HopsParser,
  knowledgeBase: KnowledgeBase,
  subquestion: string,
): HopsStepResult | undefined {
  const parsed = parser.question(subquestion);
  if (parsed) return answerParsed(parsed, knowledgeBase);
  const sentence = tidySentence(subquestion);
  return compareStatedValues(sentence, parser.work) ?? compareStatedAnswers(sentence, parser.work);
}

function answerParsed(question: HopsQuestion, knowledgeBase: KnowledgeBase): HopsStepResult {
  const steps = planQuestion(question, knowledgeBase);
  if (steps.length !== 1) {
    return {
      ok: false,
      reason: `cannot answer: this needs ${steps.length} facts or operations, not one; ask one at a time`,
    };
  }
  const answer = steps[0]?.answer;
  if (answer === undefined)
    return { ok: false, reason: 'cannot answer: the knowledge base has no such fact' };
  return { ok: true, answer };
}

/** "Which is earlier, A (1987) or B (1992)?" → the side with the smaller or larger stated value. */
function compareStatedValues(sentence: string, meter: WorkMeter): HopsStepResult | undefined {
  const groups = readStatedValues(sentence, meter);
  if (!groups?.X || !groups.Y || !groups.A || !groups.B) return undefined;
  const words = groups.words;
  const wantsSmaller = smallerWords.test(words);
  const wantsLarger = largerWords.test(words);
  if (wantsSmaller === wantsLarger) {
    return {
      ok: false,
      reason: 'cannot answer: say whether the smaller/earlier or the larger/later value wins',
    };
  }
  const left = parseNumber(groups.A);
  const right = parseNumber(groups.B);
  if (left === undefined || right === undefined) return undefined;
  if (left === right) return { ok: false, reason: `cannot answer: both values are ${formatNumber(left)}` };
  const leftWins = wantsSmaller ? left < right : left > right;
  return { ok: true, answer: (leftWins ? groups.X : groups.Y).trim() };
}

/** "Are Velmora and Velmora the same?" → yes. */
function compareStatedAnswers(sentence: string, meter: WorkMeter): HopsStepResult | undefined {
  for (const pattern of equalityPatterns) {
    const groups = pattern.exec(sentence, meter);
    if (!groups?.X || !groups.Y) continue;
    return { ok: true, answer: normalizeText(groups.X) === normalizeText(groups.Y) ? 'yes' : 'no' };
  }
  return undefined;
}
