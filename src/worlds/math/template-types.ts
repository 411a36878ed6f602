/**
 * A math template: a word problem's story (several phrasings), how its numbers are sampled
 * so that every step is exact, and its steps. Each step is ONE arithmetic operation over
 * two operands (given numbers of the story or earlier steps) and is asked by descriptive
 * sub-questions (GSM8K-socratic style: "How many apples does Liam have?").
 */
import type { Random } from '../random.js';
import type { SlotKind } from '../text.js';
import type { Phrase, SplitName } from '../types.js';

export type Operation = 'add' | 'subtract' | 'multiply' | 'divide' | 'percent-of';

export interface MathStep {
  id: string;
  /** Sub-question phrasings with `{slot}` placeholders; the first is the canonical one. */
  asks: readonly string[];
  operation: Operation;
  /** Two operands: slot names of the story's numbers or ids of earlier steps. */
  operands: readonly [string, string];
}

export type SlotValues = Record<string, string | number>;

export interface SampleContext {
  random: Random;
  split: SplitName;
  /** Distinct agent names from the split's partition. */
  names(count: number): string[];
}

export interface MathTemplate {
  id: string;
  /** Held-out template: generated only for the `ood` split. */
  ood?: boolean;
  phrasings: readonly Phrase[];
  /** The kind of each slot in the phrasings (numbers, names, words). */
  slots: Readonly<Record<string, SlotKind>>;
  /** Number slots written as money ("$2.50"). */
  moneySlots?: readonly string[];
  steps: readonly MathStep[];
  /** Samples slot values; the numbers must make every step exact. */
  sample(context: SampleContext): SlotValues;
}

export function step(
  id: string,
  operation: Operation,
  operands: readonly [string, string],
  asks: readonly string[],
): MathStep {
  return { id, operation, operands, asks };
}

export function phrase(id: string, text: string, ood = false): Phrase {
  return ood ? { id, text, ood } : { id, text };
}

export function applyOperation(operation: Operation, left: number, right: number): number | undefined {
  switch (operation) {
    case 'add':
      return left + right;
    case 'subtract':
      return left - right;
    case 'multiply':
      return left * right;
    case 'divide':
      return right === 0 ? undefined : left / right;
    case 'percent-of':
      return (left * right) / 100;
  }
}
