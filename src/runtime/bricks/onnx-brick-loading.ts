/**
 * Loading an ONNX brick directory: its manifest (brick.json), its decoder session and its tokenizer,
 * checked against each other at load time, so a broken brick fails here with the file and the fix,
 * not on the first question.
 */
import { join } from 'node:path';
import { readBrickManifest, type BrickManifest } from '../../bricks/brick-manifest.js';
import { Tokenizer } from '../../tokenizer/tokenizer.js';
import { OnnxDecoderModel } from '../onnx/onnx-decoder.js';

/** What a brick directory holds, loaded and checked. */
export interface OnnxBrickFiles {
  manifest: BrickManifest;
  tokenizer: Tokenizer;
  decoder: OnnxDecoderModel;
}

export interface OnnxBrickLoadOptions {
  /** onnxruntime intra-op threads for the decoder session. */
  intraOpNumThreads?: number;
}

/** Loads the brick's files; the decoder session is closed again when a later check fails. */
export async function loadOnnxBrickFiles(
  directory: string,
  options: OnnxBrickLoadOptions = {},
): Promise<OnnxBrickFiles> {
  const manifest = await readBrickManifest(directory);
  const decoder = await OnnxDecoderModel.load(directory, { intraOpNumThreads: options.intraOpNumThreads });
  try {
    const tokenizer = await Tokenizer.load(directory);
    if (tokenizer.vocabSize > decoder.vocabSize)
      throw new Error(
        `${join(directory, 'tokenizer.json')} has ${tokenizer.vocabSize} tokens but ${join(directory, 'config.json')} ` +
          `says vocab_size ${decoder.vocabSize}; the tokenizer does not belong to this model: re-export the brick ` +
          'with the tokenizer it was trained with',
      );
    return { manifest, tokenizer, decoder };
  } catch (error) {
    await decoder.close();
    throw error;
  }
}
