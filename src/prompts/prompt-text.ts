/**
 * Small text helpers shared by the prompt renderers and parsers: the question block and the
 * numbered-line reader. Pure functions, no I/O.
 */

/** The user-message block every prompt starts with: the context (if any), then the question. */
export function renderQuestionBlock(question: string, context?: string): string {
  const parts: string[] = [];
  if (context !== undefined && context.trim() !== '') parts.push(`Context:\n${context.trim()}`);
  parts.push(`Question: ${question.trim()}`);
  return parts.join('\n\n');
}

/** `1. a\n2. b` — numbered lines, newlines inside an item flattened to spaces. */
export function renderNumbered(items: readonly string[]): string {
  return items.map((item, index) => `${index + 1}. ${flattenLine(item)}`).join('\n');
}

export function flattenLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * A numbered or bulleted item at the start of a line: `1.`, `1)`, `(1)`, `Q1:`, `Step 1:`,
 * `Sub-question 1:`, `Subanswer 1 -`, `-`, `*`, `•`. Group 1 (or 2) holds the number when there is one.
 */
const itemPattern =
  /^\s*(?:(?:sub[- ]?questions?|sub[- ]?answers?|questions?|answers?|steps?|q|a)\s*#?(\d+)\s*[:.)\-–]\s*|\(?(\d+)\s*[.):]\s+|[-*•]\s+)(.*)$/i;

export interface NumberedItem {
  number?: number;
  text: string;
}

/** Reads the numbered or bulleted items of a text, skipping preamble lines and blank lines. */
export function readItems(text: string): { items: NumberedItem[]; ignored: string[] } {
  const items: NumberedItem[] = [];
  const ignored: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const match = itemPattern.exec(line.replace(/\*\*/g, ''));
    if (match === null) {
      ignored.push(line.trim());
      continue;
    }
    const digits = match[1] ?? match[2];
    const content = cleanItem(match[3] ?? '');
    if (content === '') continue;
    items.push({ number: digits === undefined ? undefined : Number(digits), text: content });
  }
  return { items, ignored };
}

/** Strips markdown emphasis (`**`, removed before matching) and wrapping quotes left around an item. */
export function cleanItem(text: string): string {
  let cleaned = text
    .trim()
    .replace(/^\*\*(.*)\*\*$/, '$1')
    .trim();
  const quoted = /^["“'](.*)["”']$/.exec(cleaned);
  if (quoted !== null) cleaned = (quoted[1] ?? '').trim();
  return cleaned;
}

/** Pulls a JSON value out of a text: the whole text, or the body of a ```json fenced block. */
export function tryParseJson(text: string): unknown {
  const candidates = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  if (fenced !== null) candidates.push((fenced[1] ?? '').trim());
  for (const candidate of candidates) {
    if (!candidate.startsWith('{') && !candidate.startsWith('[')) continue;
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      // not JSON: the caller falls back to line parsing
    }
  }
  return undefined;
}
