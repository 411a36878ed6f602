/**
 * Sub-questions may refer to earlier answers as `#1`, `#2`, ... (explicit dataflow).
 * The chain substitutes the answers before a sub-question is solved.
 */

const referencePattern = /#(\d+)/g;

/** The 1-based indices a sub-question refers to, in order of appearance, without repeats. */
export function findReferences(subquestion: string): number[] {
  const seen = new Set<number>();
  for (const match of subquestion.matchAll(referencePattern)) seen.add(Number(match[1]));
  return [...seen];
}

/**
 * Replaces `#k` with the answer of sub-question k (1-based). A reference to an answer that
 * does not exist yet is left as it is, so the solver sees the problem instead of a guess.
 */
export function substituteReferences(subquestion: string, answers: readonly string[]): string {
  return subquestion.replace(referencePattern, (whole, digits: string) => {
    const answer = answers[Number(digits) - 1];
    return answer === undefined ? whole : answer;
  });
}
