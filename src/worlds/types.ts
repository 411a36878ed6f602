/** The names shared by both synthetic worlds. */
export type WorldName = 'hops' | 'math';
export type SplitName = 'train' | 'test' | 'ood';

export const worldNames: readonly WorldName[] = ['hops', 'math'];
export const splitNames: readonly SplitName[] = ['train', 'test', 'ood'];

/** One surface variant of a sentence; `ood` variants appear only in the `ood` split. */
export interface Phrase {
  id: string;
  text: string;
  ood?: boolean;
}
