/**
 * The final answer of a solver's output: the text after the LAST `The answer is:` (any case,
 * with or without the colon, inside markdown bold, `final answer is` too), up to the end of
 * that line; if that line is empty, the next non-empty line. Without the phrase: the last
 * non-empty line. Markdown emphasis, wrapping quotes, `\boxed{}` and one trailing period are
 * removed (`3.5.` → `3.5`).
 */

const answerPhrase = /\**\s*the\s+(?:final\s+)?answer\s+is\s*\**\s*:?\s*\**/gi;

function cleanAnswer(text: string): string {
  let answer = text.trim();
  const boxed = /\\boxed\{([^{}]*)\}/.exec(answer);
  if (boxed !== null) answer = boxed[1] ?? '';
  answer = answer
    .replace(/^[*_\s]+|[*_\s]+$/g, '')
    .replace(/^["'“‘`]+|["'”’`]+$/g, '')
    .trim();
  if (answer.endsWith('.') && !answer.endsWith('..')) answer = answer.slice(0, -1).trimEnd();
  return answer.replace(/^[*_\s]+|[*_\s]+$/g, '');
}

export function extractFinalAnswer(text: string): string {
  let lastEnd = -1;
  for (const match of text.matchAll(answerPhrase)) lastEnd = (match.index ?? 0) + match[0].length;
  if (lastEnd >= 0) {
    const lines = text.slice(lastEnd).split('\n');
    const found = lines.map(cleanAnswer).find((line) => line !== '');
    if (found !== undefined) return found;
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return cleanAnswer(lines.at(-1) ?? '');
}
