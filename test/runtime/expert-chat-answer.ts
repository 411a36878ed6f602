/**
 * Answers the fake OpenAI server's chat requests the way a good LLM would, using the worlds'
 * reference expert: decompositions, dynamic next steps and solutions (with earlier answers
 * read back from the prompt's "Already answered" / "Answered so far" lists).
 */
import { renderDecomposition, renderNextSubquestion, renderSolution } from '../../src/prompts/index.js';
import { createReferenceExpert } from '../../src/worlds/index.js';
import type { FakeChatRequest } from '../helpers/fake-openai-server.js';

function answeredList(user: string, heading: string): { subquestion: string; answer: string }[] {
  const block = new RegExp(`${heading}:\\n((?:\\d+\\. .*\\n?)*)`).exec(user)?.[1] ?? '';
  return [...block.matchAll(/^\d+\. (.*) = (.*)$/gm)].map((match) => ({
    subquestion: match[1],
    answer: match[2],
  }));
}

export function expertChatAnswer(): (request: FakeChatRequest) => string {
  const expert = createReferenceExpert();
  return (request) => {
    const user = request.messages.filter((message) => message.role === 'user').at(-1)?.content ?? '';
    const plan = expert.decompose(request.question) ?? [];
    if (request.kind === 'decompose') {
      const text = renderDecomposition(plan);
      return request.structured ? JSON.stringify({ subquestions: plan }) : text;
    }
    if (request.kind === 'next-subquestion') {
      const previous = answeredList(user, 'Answered so far');
      return renderNextSubquestion(plan[previous.length] ?? null);
    }
    const previous = answeredList(user, 'Already answered');
    const asked = request.subquestions.length === 0 ? [request.question] : request.subquestions;
    const subanswers: string[] = [];
    for (const subquestion of asked) {
      const resolved = subquestion.replace(
        /#(\d+)/g,
        (whole, k: string) =>
          [...previous.map((entry) => entry.answer), ...subanswers][Number(k) - 1] ?? whole,
      );
      const step = expert.solveStep({ question: request.question, subquestion: resolved, previous });
      if (!step.ok) return 'I cannot answer that.';
      subanswers.push(step.answer);
      previous.push({ subquestion: resolved, answer: step.answer });
    }
    const answer = subanswers.at(-1) ?? '';
    const listed = request.subquestions.length === 0 ? [] : subanswers;
    return request.structured
      ? JSON.stringify({ subanswers: listed, answer })
      : renderSolution(listed, answer);
  };
}
