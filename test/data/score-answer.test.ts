import { describe, expect, it } from 'vitest';
import { chooseMetric, scoreAnswer } from '../../src/data/metrics/index.js';
import type { ScoredExample } from '../../src/data/metrics/index.js';

const gsm8k: ScoredExample = { dataset: 'gsm8k', answer: '70000', answerType: 'number' };
const hotpotText: ScoredExample = { dataset: 'hotpotqa', answer: 'Chief of Protocol', answerType: 'text' };
const hotpotYes: ScoredExample = { dataset: 'hotpotqa', answer: 'yes', answerType: 'text' };
const strategy: ScoredExample = { dataset: 'strategyqa', answer: 'no', answerType: 'boolean' };
const dropSpans: ScoredExample = {
  dataset: 'drop',
  answer: 'Smith, Jones',
  answerType: 'text',
  meta: { answerSpans: [['Smith', 'Jones']], alternativeAnswers: [] },
};

describe('scoreAnswer', () => {
  it('scores numbers numerically from a whole solver output', () => {
    const output = 'He paid 130,000 and sold for 200,000.\nThe answer is: **$70,000**.';
    expect(scoreAnswer(output, gsm8k)).toEqual({ correct: true, score: 1, metric: 'numeric' });
    expect(scoreAnswer('The answer is: 70000.5', gsm8k)).toEqual({
      correct: false,
      score: 0,
      metric: 'numeric',
    });
  });

  it('uses SQuAD F1 for text with EM as correctness', () => {
    const full = scoreAnswer('The answer is: the Chief of Protocol.', hotpotText);
    expect(full).toEqual({ correct: true, score: 1, metric: 'f1' });
    const partial = scoreAnswer('Chief', hotpotText);
    expect(partial.correct).toBe(false);
    expect(partial.score).toBeCloseTo(0.5);
  });

  it('routes a yes/no text gold through yes/no normalization', () => {
    expect(chooseMetric(hotpotYes)).toBe('yes-no');
    expect(scoreAnswer('Yes, both are American.', hotpotYes).correct).toBe(true);
    expect(scoreAnswer('No', hotpotYes).correct).toBe(false);
  });

  it('scores booleans by yes/no', () => {
    expect(scoreAnswer('The answer is: False', strategy)).toEqual({
      correct: true,
      score: 1,
      metric: 'yes-no',
    });
    expect(scoreAnswer('I cannot tell', strategy).correct).toBe(false);
  });

  it('scores DROP span lists by bag alignment, splitting the prediction on commas and "and"', () => {
    expect(scoreAnswer('Jones and Smith', dropSpans)).toEqual({ correct: true, score: 1, metric: 'drop-f1' });
    const half = scoreAnswer('Smith', dropSpans);
    expect(half.correct).toBe(false);
    expect(half.score).toBe(0.5);
  });

  it('accepts alternative answers', () => {
    const example: ScoredExample = {
      dataset: 'bamboogle',
      answer: 'USA',
      answerType: 'text',
      meta: { alternativeAnswers: ['United States'] },
    };
    expect(scoreAnswer('the United States', example).correct).toBe(true);
  });

  it('lets meta.metric force a metric', () => {
    const example: ScoredExample = {
      dataset: 'hops',
      answer: 'Ada Quill',
      answerType: 'text',
      meta: { metric: 'exact-match' },
    };
    expect(scoreAnswer('Ada', example)).toEqual({ correct: false, score: 0, metric: 'exact-match' });
  });

  it('keeps every score within [0, 1]', () => {
    for (const prediction of ['', 'x', '70000', 'Smith, Jones, Brown, Lee']) {
      for (const example of [gsm8k, hotpotText, hotpotYes, strategy, dropSpans]) {
        const { score } = scoreAnswer(prediction, example);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
      }
    }
  });
});
