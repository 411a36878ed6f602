/**
 * The math half of the reference solver. It answers a sub-question only when it is ONE
 * operation over known quantities: the story's own numbers, the answers of earlier steps
 * (matched to the problem's quantities by their sub-question text), or two numbers written
 * in the sub-question itself ("What is 12 times 4?"). A sub-question whose operands are not
 * known yet, or a whole multi-step problem, is refused.
 */
import { formatNumber, numberPattern, parseNumber, tidySentence } from '../text.js';
import { applyOperation } from './template-types.js';
import type { Operation } from './template-types.js';
import { findStep, parseProblem, stepAsks } from './problem.js';
import type { MathProblem } from './problem.js';

export type MathStepResult = { ok: true; answer: string } | { ok: false; reason: string };

export interface MathStepInput {
  question: string;
  subquestion: string;
  previous: readonly { subquestion: string; answer: string }[];
}

const operatorWords: [RegExp, Operation][] = [
  [/^(\+|plus|added to)$/i, 'add'],
  [/^(-|−|minus|less)$/i, 'subtract'],
  [/^(\*|×|x|times|multiplied by)$/i, 'multiply'],
  [/^(\/|÷|divided by|over)$/i, 'divide'],
];
const arithmetic = new RegExp(
  `^(?:what|how much) is (?<left>${numberPattern})\\s*(?<operator>\\+|-|−|\\*|×|x|/|÷|plus|added to|minus|less|times|multiplied by|divided by|over)\\s*(?<right>${numberPattern})$`,
  'i',
);
const percentOf = new RegExp(
  `^(?:what|how much) is (?<left>${numberPattern})\\s*(?:%|percent) of (?<right>${numberPattern})$`,
  'i',
);

/** "What is 12 times 4?" or "What is 25% of 80?"; undefined when it is not bare arithmetic. */
function bareArithmetic(subquestion: string): MathStepResult | undefined {
  const sentence = tidySentence(subquestion);
  const percent = percentOf.exec(sentence)?.groups;
  if (percent?.left && percent.right)
    return compute('percent-of', parseNumber(percent.right), parseNumber(percent.left));
  const groups = arithmetic.exec(sentence)?.groups;
  if (!groups?.left || !groups.right || !groups.operator) return undefined;
  const operation = operatorWords.find(([pattern]) => pattern.test(groups.operator as string))?.[1];
  if (!operation) return undefined;
  return compute(operation, parseNumber(groups.left), parseNumber(groups.right));
}

function compute(operation: Operation, left: number | undefined, right: number | undefined): MathStepResult {
  const value =
    left === undefined || right === undefined ? undefined : applyOperation(operation, left, right);
  if (value === undefined)
    return { ok: false, reason: 'cannot answer: the operation is undefined (division by zero?)' };
  return { ok: true, answer: formatNumber(value) };
}

/** Known quantities: the story's numbers and earlier answers matched to the problem's steps. */
function knownQuantities(problem: MathProblem, previous: MathStepInput['previous']): Map<string, number> {
  const known = new Map<string, number>();
  for (const [slot, value] of Object.entries(problem.values))
    if (typeof value === 'number') known.set(slot, value);
  for (const earlier of previous) {
    const matched = findStep(problem, earlier.subquestion);
    const value = parseNumber(earlier.answer.replace(/^the answer is:?\s*/i, ''));
    if (matched && value !== undefined) known.set(matched.id, value);
  }
  return known;
}

/** Solves one math step; undefined when neither the question nor the sub-question is a math problem. */
export function solveMathStep(input: MathStepInput): MathStepResult | undefined {
  const explicit = bareArithmetic(input.subquestion);
  if (explicit) return explicit;
  const whole = parseProblem(input.subquestion);
  if (whole) {
    if (whole.template.steps.length > 1) {
      return {
        ok: false,
        reason: `cannot answer: this problem needs ${whole.template.steps.length} operations, not one; ask one step at a time`,
      };
    }
    return solveKnownStep(
      whole,
      whole.template.steps[0] as MathProblem['template']['steps'][number],
      new Map(),
    );
  }
  const problem = parseProblem(input.question);
  if (!problem) return undefined;
  const target = findStep(problem, input.subquestion);
  if (!target)
    return {
      ok: false,
      reason: 'cannot answer: the sub-question does not ask for a single quantity of this problem',
    };
  return solveKnownStep(problem, target, knownQuantities(problem, input.previous));
}

function solveKnownStep(
  problem: MathProblem,
  target: MathProblem['template']['steps'][number],
  earlier: Map<string, number>,
): MathStepResult {
  const known = new Map(earlier);
  for (const [slot, value] of Object.entries(problem.values))
    if (typeof value === 'number') known.set(slot, value);
  const missing = target.operands.filter((operand) => !known.has(operand));
  if (missing.length > 0) {
    const needed = missing.map((operand) => {
      const operandStep = problem.template.steps.find((candidate) => candidate.id === operand);
      return operandStep ? `"${stepAsks(problem, operandStep)[0]}"` : operand;
    });
    return { ok: false, reason: `cannot answer: first find ${needed.join(' and ')}` };
  }
  const [left, right] = target.operands.map((operand) => known.get(operand));
  return compute(target.operation, left, right);
}
