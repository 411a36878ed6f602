/**
 * GPT-2 byte-level pre-tokenization, the same one `tokenizer.json`'s `ByteLevel` pre-tokenizer
 * applies at encoding time: a regex splits the text into words, and each word's UTF-8 bytes are
 * mapped to printable characters so that any Unicode string becomes a string over a 256-symbol
 * alphabet (and decodes back exactly).
 */

/** The GPT-2 split pattern (what `ByteLevel` with `use_regex: true` uses). */
export const byteLevelSplitPattern =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * GPT-2's `bytes_to_unicode`: printable Latin-1 bytes map to themselves, the other bytes to
 * code points from 256 upwards, so that no byte maps to whitespace or a control character.
 */
function buildByteToCharacter(): string[] {
  const printable: number[] = [];
  const addRange = (from: number, to: number): void => {
    for (let byte = from; byte <= to; byte += 1) printable.push(byte);
  };
  addRange(0x21, 0x7e);
  addRange(0xa1, 0xac);
  addRange(0xae, 0xff);
  const table: string[] = new Array<string>(256);
  for (const byte of printable) table[byte] = String.fromCharCode(byte);
  let next = 256;
  for (let byte = 0; byte < 256; byte += 1) {
    if (table[byte] === undefined) {
      table[byte] = String.fromCharCode(next);
      next += 1;
    }
  }
  return table;
}

/** `byteToCharacter[b]` is the one-character string that stands for byte `b`. */
export const byteToCharacter: readonly string[] = buildByteToCharacter();

const characterToByte = new Map<string, number>(byteToCharacter.map((character, byte) => [character, byte]));

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Maps a string's UTF-8 bytes to the byte-level alphabet. */
export function toByteLevel(text: string): string {
  let result = '';
  for (const byte of utf8Encoder.encode(text)) result += byteToCharacter[byte];
  return result;
}

/** Inverse of `toByteLevel` (invalid UTF-8 sequences decode to U+FFFD). */
export function fromByteLevel(byteLevelText: string): string {
  const bytes: number[] = [];
  for (const character of byteLevelText) {
    const byte = characterToByte.get(character);
    if (byte === undefined)
      throw new Error(`character ${JSON.stringify(character)} is not in the byte-level alphabet`);
    bytes.push(byte);
  }
  return utf8Decoder.decode(new Uint8Array(bytes));
}

/** Splits a text into byte-level words, exactly as the `ByteLevel` pre-tokenizer does. */
export function preTokenize(text: string): string[] {
  const words = text.match(byteLevelSplitPattern) ?? [];
  return words.map(toByteLevel);
}
