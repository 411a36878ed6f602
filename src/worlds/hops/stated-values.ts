/**
 * Reads "Which was founded earlier, Alpha (1987) or Beta (1992)?" into its parts: the words
 * between "which"/"who" and the first name (they say which side wins), the two sides and
 * their stated values. The regex this replaces,
 *   ^(?:which|who)\b(?<words>.*?)[,:]?\s+(?<X>[^,:]+?)\s*\((?<A>N)\)\s*,?\s+or\s+(?<Y>.+?)\s*\((?<B>N)\)$
 * tried every end of `words` and rescanned for `X` from each, quadratic in a long text that
 * almost fits; this reads the same parts in time linear in the text (each side is the regex's
 * choice: the shortest `words`, then the shortest `X`), and counts its work in a meter.
 */
import type { WorkMeter } from '../phrase-matcher.js';
import { numberPattern } from '../text.js';

export interface StatedValues {
  words: string;
  X: string;
  A: string;
  Y: string;
  B: string;
}

const opening = /^(?:which|who)\b/i;
const finalValue = new RegExp(`^${numberPattern}$`);
/** `(A)` then `or`, tried at an opening parenthesis. */
const valueThenOr = new RegExp(`\\((${numberPattern})\\)\\s*,?\\s+or\\s+`, 'iy');
/** What ends `words`: an optional comma or colon, then spaces. */
const wordsEnd = /[,:]?\s+/y;

function trailingSpaceStart(text: string, end: number): number {
  let start = end;
  while (start > 0 && /\s/.test(text[start - 1] as string)) start -= 1;
  return start;
}

/** For each position, the first "(A) or" whose X may end there: [where X ends, where Y starts, A]. */
function valueMarks(
  sentence: string,
  yEnd: number,
  meter: WorkMeter,
): ([number, number, string] | undefined)[] {
  const marks = new Array<[number, number, string] | undefined>(sentence.length + 1);
  let next: [number, number, string] | undefined;
  for (let position = sentence.length; position >= 0; position -= 1) {
    meter.steps += 1;
    if (sentence[position] === '(') {
      meter.steps += 1;
      valueThenOr.lastIndex = position;
      const match = valueThenOr.exec(sentence);
      // Y must be non-empty: "or" ends before Y's end.
      if (match !== null && valueThenOr.lastIndex < yEnd)
        next = [trailingSpaceStart(sentence, position), valueThenOr.lastIndex, match[1] as string];
    }
    marks[position] = next;
  }
  return marks;
}

/** The parts of a comparison with stated values; undefined when `sentence` is not one. */
export function readStatedValues(
  sentence: string,
  meter: WorkMeter = { steps: 0 },
): StatedValues | undefined {
  meter.steps += sentence.length;
  const head = opening.exec(sentence);
  if (head === null || !sentence.endsWith(')')) return undefined;
  const open = sentence.lastIndexOf('(');
  const B = sentence.slice(open + 1, -1);
  if (!finalValue.test(B)) return undefined;
  const yEnd = trailingSpaceStart(sentence, open);
  const marks = valueMarks(sentence, yEnd, meter);
  // The first [,:] at or after each position (X may not hold one).
  const nextSeparator = new Array<number>(sentence.length + 1);
  nextSeparator[sentence.length] = sentence.length;
  for (let position = sentence.length - 1; position >= 0; position -= 1)
    nextSeparator[position] = ',:'.includes(sentence[position] as string)
      ? position
      : (nextSeparator[position + 1] as number);
  for (let end = head[0].length; end < sentence.length; end += 1) {
    meter.steps += 1;
    wordsEnd.lastIndex = end;
    if (!wordsEnd.test(sentence)) continue;
    const xStart = wordsEnd.lastIndex;
    // X is non-empty, so its "(A) or" is found from the character after its first.
    const mark = marks[xStart + 1];
    if (mark === undefined || mark[0] > (nextSeparator[xStart] as number) || mark[0] <= xStart) continue;
    return {
      words: sentence.slice(head[0].length, end),
      X: sentence.slice(xStart, mark[0]),
      A: mark[2],
      Y: sentence.slice(mark[1], yEnd),
      B,
    };
  }
  return undefined;
}
