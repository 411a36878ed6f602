/**
 * Bamboogle (Press et al. 2022, "Measuring and Narrowing the Compositionality Gap"): a CSV
 * with the header `Question,Answer`, 125 two-hop questions. Answers are `text` (scored by
 * SQuAD EM/F1; a bare yes/no would go through yes/no normalization).
 */
import type { Example } from '../schemas.js';
import type { Converter } from './converter.js';
import { ConvertError, fileStem } from './converter.js';
import { readSourceCsv } from './source-files.js';

function findColumn(columns: readonly string[], name: string, file: string): string {
  const column = columns.find((candidate) => candidate.trim().toLowerCase() === name.toLowerCase());
  if (column === undefined) {
    throw new ConvertError(
      `${file}:1`,
      `the header has no "${name}" column (found: ${columns.join(', ') || 'nothing'}); Bamboogle's header is "Question,Answer"`,
    );
  }
  return column;
}

export const bamboogleConverter: Converter = {
  name: 'bamboogle',
  description: 'Bamboogle CSV with the header "Question,Answer"',
  async convert(file: string): Promise<Example[]> {
    const rows = await readSourceCsv(file);
    if (rows.length === 0) return [];
    const columns = Object.keys(rows[0]?.fields ?? {});
    const questionColumn = findColumn(columns, 'Question', file);
    const answerColumn = findColumn(columns, 'Answer', file);
    const stem = fileStem(file);
    return rows.map(({ line, fields }, index): Example => {
      const question = (fields[questionColumn] ?? '').trim();
      const answer = (fields[answerColumn] ?? '').trim();
      if (question === '') throw new ConvertError(`${file}:${line}`, 'Question is empty');
      if (answer === '') throw new ConvertError(`${file}:${line}`, 'Answer is empty');
      return {
        id: `bamboogle-${stem}-${index + 1}`,
        dataset: 'bamboogle',
        question,
        answer,
        answerType: 'text',
        meta: { source: { file: stem, line } },
      };
    });
  },
};
