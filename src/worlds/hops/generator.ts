/** Generates hops examples: multi-hop questions over the fixed knowledge base. */
import type { Example } from '../../data/schemas.js';
import { deriveSeed, Random } from '../random.js';
import type { SplitName } from '../types.js';
import { getKnowledgeBase } from './knowledge-base.js';
import { planQuestion } from './question-tree.js';
import type { HopsQuestion } from './question-tree.js';
import { subjectEntities, QuestionSampler } from './question-sampler.js';
import { relations } from './relations.js';
import { HopsRenderer } from './renderer.js';

/** Question families (meta.template) and how each is sampled. */
type Family =
  | 'lookup'
  | 'verify'
  | 'bridge-2'
  | 'bridge-3'
  | 'bridge-4'
  | 'verify-bridge'
  | 'compare'
  | 'bridge-compare'
  | 'same';

/** In-distribution mix (train and test): chains of at most 3 hops. */
const ordinaryMix: readonly (readonly [Family, number])[] = [
  ['lookup', 6],
  ['verify', 4],
  ['bridge-2', 22],
  ['bridge-3', 18],
  ['verify-bridge', 14],
  ['compare', 14],
  ['bridge-compare', 10],
  ['same', 12],
];
/** Held-out mix: 4-hop chains (never in train or test) dominate, plus held-out phrasings. */
const oodMix: readonly (readonly [Family, number])[] = [
  ['lookup', 3],
  ['verify', 2],
  ['bridge-2', 5],
  ['bridge-3', 10],
  ['bridge-4', 40],
  ['verify-bridge', 10],
  ['compare', 10],
  ['bridge-compare', 10],
  ['same', 10],
];

function sampleFamily(
  sampler: QuestionSampler,
  random: Random,
  family: Family,
  split: SplitName,
): HopsQuestion | undefined {
  switch (family) {
    case 'lookup':
      return sampler.ask(0);
    case 'verify':
      return sampler.verify(0);
    case 'bridge-2':
      return sampler.ask(1);
    case 'bridge-3':
      return sampler.ask(2);
    case 'bridge-4':
      return sampler.ask(3);
    case 'verify-bridge':
      return sampler.verify(random.integer(1, split === 'ood' ? 3 : 2));
    case 'compare':
      return sampler.compare(0);
    case 'bridge-compare':
      return sampler.compare(1);
    case 'same':
      return sampler.same();
  }
}

function answerType(question: HopsQuestion): Example['answerType'] {
  if (question.type === 'verify' || question.type === 'threshold' || question.type === 'same')
    return 'boolean';
  if (question.type === 'compare') return 'text';
  return typeof relations[question.relation].range === 'string' &&
    ['year', 'count'].includes(relations[question.relation].range)
    ? 'number'
    : 'text';
}

export function generateHopsExamples(options: { n: number; seed: number; split: SplitName }): Example[] {
  const knowledgeBase = getKnowledgeBase();
  const random = new Random(deriveSeed(options.seed, `hops/${options.split}`));
  const sampler = new QuestionSampler(random, knowledgeBase, options.split);
  const renderer = new HopsRenderer(random, options.split);
  const mix = options.split === 'ood' ? oodMix : ordinaryMix;
  const examples: Example[] = [];
  while (examples.length < options.n) {
    const family = random.pickWeighted(mix);
    let question: HopsQuestion | undefined;
    for (let attempt = 0; attempt < 200 && !question; attempt += 1)
      question = sampleFamily(sampler, random, family, options.split);
    if (!question) continue;
    const steps = planQuestion(question, knowledgeBase);
    const rendered = renderer.render(question);
    const final = steps[steps.length - 1];
    if (final?.answer === undefined) throw new Error(`hops generator: no answer for a ${family} question`);
    const multiStep = steps.length > 1;
    examples.push({
      id: `hops-${options.split}-${options.seed}-${examples.length}`,
      dataset: 'hops',
      question: rendered.text,
      answer: final.answer,
      answerType: answerType(question),
      gold: multiStep
        ? {
            subquestions: steps.map((step) => step.subquestion),
            subanswers: steps.map((step) => step.answer ?? ''),
          }
        : { subquestions: [], subanswers: [] },
      meta: {
        world: 'hops',
        split: options.split,
        template: family,
        phrasing: rendered.phraseIds.join('+'),
        heldOutPhrasing: rendered.heldOut,
        steps: steps.length,
        entities: subjectEntities(question).map((entity) => entity.id),
      },
    });
  }
  return examples;
}
