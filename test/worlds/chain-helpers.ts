/**
 * Test helpers: run a decomposition through the reference solver as a chain (substitute #k,
 * solve each step, last answer wins) and compare answers (numbers numerically, text without
 * case). A small local comparator: the metrics module is tested on its own.
 */
import { substituteReferences } from '../../src/data/subquestion-references.js';
import type { ReferenceExpert } from '../../src/worlds/index.js';

export function sameAnswer(predicted: string, gold: string): boolean {
  const number = (text: string) => Number(text.trim().replace(/^\$/, '').replace(/,/g, ''));
  if (
    predicted.trim() !== '' &&
    gold.trim() !== '' &&
    Number.isFinite(number(predicted)) &&
    Number.isFinite(number(gold))
  ) {
    return Math.abs(number(predicted) - number(gold)) < 1e-6;
  }
  return predicted.trim().toLowerCase() === gold.trim().toLowerCase();
}

/** The chain's final answer, or undefined when a step was refused. */
export function runChain(
  expert: ReferenceExpert,
  question: string,
  subquestions: readonly string[],
): string | undefined {
  if (subquestions.length === 0) {
    const result = expert.solveStep({ question, subquestion: question, previous: [] });
    return result.ok ? result.answer : undefined;
  }
  const answers: string[] = [];
  const previous: { subquestion: string; answer: string }[] = [];
  for (const subquestion of subquestions) {
    const substituted = substituteReferences(subquestion, answers);
    const result = expert.solveStep({ question, subquestion: substituted, previous });
    if (!result.ok) return undefined;
    answers.push(result.answer);
    previous.push({ subquestion: substituted, answer: result.answer });
  }
  return answers[answers.length - 1];
}
