/** Generates math examples: GSM8K-like word problems with their step-by-step gold. */
import type { Example } from '../../data/schemas.js';
import { choosePhrase } from '../phrase-choice.js';
import { deriveSeed, Random } from '../random.js';
import { formatNumber } from '../text.js';
import type { SplitName } from '../types.js';
import { evaluateSteps, mathTemplates, renderProblem, stepAsks } from './problem.js';
import type { MathTemplate } from './template-types.js';
import { agentNames } from './vocabulary.js';

/** One-step templates are a small share; ood mixes held-out 5–6 step templates with held-out phrasings. */
function templateWeights(split: SplitName): (readonly [MathTemplate, number])[] {
  return mathTemplates
    .filter((template) => split === 'ood' || !template.ood)
    .map((template) => {
      if (template.ood) return [template, 3] as const;
      const weight = template.steps.length === 1 ? 1 : 2.5;
      return [template, split === 'ood' ? weight / 3 : weight] as const;
    });
}

export function generateMathExamples(options: { n: number; seed: number; split: SplitName }): Example[] {
  const random = new Random(deriveSeed(options.seed, `math/${options.split}`));
  const pool = agentNames(options.split);
  const names = (count: number): string[] => {
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(random.pick(pool));
    return [...chosen];
  };
  const weights = templateWeights(options.split);
  const examples: Example[] = [];
  for (let index = 0; index < options.n; index += 1) {
    const template = random.pickWeighted(weights);
    const phrasing = choosePhrase(random, template.phrasings, options.split);
    const values = template.sample({ random, split: options.split, names });
    const problem = { template, values };
    const results = evaluateSteps(problem);
    const answers = template.steps.map((mathStep) => formatNumber(results.get(mathStep.id) as number));
    const multiStep = template.steps.length > 1;
    examples.push({
      id: `math-${options.split}-${options.seed}-${index}`,
      dataset: 'math',
      question: renderProblem(problem, phrasing.text),
      answer: answers[answers.length - 1] as string,
      answerType: 'number',
      gold: multiStep
        ? {
            subquestions: template.steps.map((mathStep) => stepAsks(problem, mathStep)[0] as string),
            subanswers: answers,
          }
        : { subquestions: [], subanswers: [] },
      meta: {
        world: 'math',
        split: options.split,
        template: template.id,
        phrasing: `${template.id}:${phrasing.id}`,
        heldOutPhrasing: phrasing.ood === true,
        steps: template.steps.length,
        entities: Object.entries(values)
          .filter(([slot]) => /^[A-D]$/.test(slot))
          .map(([, name]) => `agent:${String(name)}`),
      },
    });
  }
  return examples;
}
