/**
 * A math problem instance (a template with slot values): rendering it as text, reading it
 * back from text alone (every phrasing compiled to a regex), and evaluating its steps.
 */
import {
  compilePhrase,
  fillPhrase,
  formatNumber,
  formatWithCommas,
  normalizeText,
  parseNumber,
  tidySentence,
} from '../text.js';
import { applyOperation } from './template-types.js';
import type { MathStep, MathTemplate, SlotValues } from './template-types.js';
import { shortTemplates } from './templates-short.js';
import { longTemplates } from './templates-long.js';
import { heldOutTemplates } from './templates-held-out.js';

export const mathTemplates: readonly MathTemplate[] = [
  ...shortTemplates,
  ...longTemplates,
  ...heldOutTemplates,
];

export interface MathProblem {
  template: MathTemplate;
  values: SlotValues;
}

/** Writes a number slot the way the story does ("2.50" for money, "1,200" for big numbers). */
export function renderValue(template: MathTemplate, slot: string, value: string | number): string {
  if (typeof value === 'string') return value;
  if (template.moneySlots?.includes(slot) && !Number.isInteger(value)) return value.toFixed(2);
  return formatWithCommas(value);
}

function renderedSlots(problem: MathProblem): Record<string, string> {
  const rendered: Record<string, string> = {};
  for (const [slot, value] of Object.entries(problem.values))
    rendered[slot] = renderValue(problem.template, slot, value);
  return rendered;
}

export function renderProblem(problem: MathProblem, phrasingText: string): string {
  return fillPhrase(phrasingText, renderedSlots(problem));
}

/** The sub-question phrasings of a step, filled in for this problem. */
export function stepAsks(problem: MathProblem, mathStep: MathStep): string[] {
  const slots = renderedSlots(problem);
  return mathStep.asks.map((ask) => fillPhrase(ask, slots));
}

/** Every step's value, computed from the story's numbers. */
export function evaluateSteps(problem: MathProblem): Map<string, number> {
  const known = new Map<string, number>();
  for (const [slot, value] of Object.entries(problem.values))
    if (typeof value === 'number') known.set(slot, value);
  const results = new Map<string, number>();
  for (const mathStep of problem.template.steps) {
    const [left, right] = mathStep.operands.map((operand) => known.get(operand)) as [
      number | undefined,
      number | undefined,
    ];
    const value =
      left === undefined || right === undefined ? undefined : applyOperation(mathStep.operation, left, right);
    if (value === undefined)
      throw new Error(`math template ${problem.template.id}: step ${mathStep.id} cannot be computed`);
    const exact = Number(formatNumber(value));
    known.set(mathStep.id, exact);
    results.set(mathStep.id, exact);
  }
  return results;
}

const compiled = mathTemplates.flatMap((template) =>
  template.phrasings.map((phrasing) => ({
    template,
    phrasing,
    regex: compilePhrase(phrasing.text, template.slots),
  })),
);

/** Reads a problem from its text; undefined when no template and phrasing fit. */
export function parseProblem(text: string): (MathProblem & { phrasingId: string }) | undefined {
  const sentence = tidySentence(text);
  for (const { template, phrasing, regex } of compiled) {
    const groups = regex.exec(sentence)?.groups;
    if (!groups) continue;
    const values: SlotValues = {};
    let valid = true;
    for (const [slot, kind] of Object.entries(template.slots)) {
      const raw = groups[slot];
      if (raw === undefined) continue;
      if (kind === 'number') {
        const number = parseNumber(raw);
        if (number === undefined) valid = false;
        else values[slot] = number;
      } else values[slot] = raw;
    }
    if (typeof values.items === 'string' && values.item === undefined) values.item = singular(values.items);
    if (valid) return { template, values, phrasingId: phrasing.id };
  }
  return undefined;
}

/** The step a sub-question asks for (matched on normalised text against every phrasing). */
export function findStep(problem: MathProblem, subquestion: string): MathStep | undefined {
  const wanted = normalizeText(subquestion);
  return problem.template.steps.find((mathStep) =>
    stepAsks(problem, mathStep).some((ask) => normalizeText(ask) === wanted),
  );
}

/** "boxes" → "box", "tomatoes" → "tomato", "toy cars" → "toy car". */
export function singular(plural: string): string {
  if (/(x|ch|sh|o)es$/.test(plural)) return plural.slice(0, -2);
  return plural.endsWith('s') ? plural.slice(0, -1) : plural;
}
