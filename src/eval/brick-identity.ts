/**
 * A brick's identity for the call cache: what decides its answers besides the call input.
 * For a brick directory that is a hash of its files (manifest, model, tokenizer), so that a
 * retrained or re-exported brick never reuses the old brick's answers; for the other kinds it
 * is the spec. The prompt templates are part of every identity (they shape what is asked).
 * The endpoint URL and prices are deliberately not: the same model behind another URL (a test
 * server on a new port) answers the same, and prices only change what a call is counted as.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBrickSpec } from '../runtime/bricks/brick-spec.js';
import { promptHash } from '../prompts/prompt-hash.js';
import { recipeVersions } from '../decoding/registry.js';

/** The files of a brick directory that decide its outputs (those present are hashed). */
export const brickDirectoryFiles = [
  'brick.json',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/model.onnx',
  'model.safetensors',
] as const;

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function directoryFingerprint(directory: string): Promise<Record<string, string>> {
  const fingerprint: Record<string, string> = {};
  for (const file of brickDirectoryFiles) {
    const path = join(directory, file);
    if (existsSync(path)) fingerprint[file] = await hashFile(path);
  }
  return fingerprint;
}

/** 32 hex characters identifying the brick a spec names (a directory is read and hashed). */
export async function brickIdentity(spec: string, options: { cwd?: string } = {}): Promise<string> {
  const parsed = parseBrickSpec(spec);
  const files =
    parsed.path === undefined
      ? undefined
      : await directoryFingerprint(resolve(options.cwd ?? process.cwd(), parsed.path));
  const prompts = {
    decompose: promptHash('decompose'),
    solve: promptHash('solve'),
    nextSubquestion: promptHash('next-subquestion'),
  };
  const described = {
    kind: parsed.kind,
    spec: files === undefined ? parsed.spec : undefined,
    files,
    prompts,
    // A local brick's outputs also depend on how dnc runs its decoding recipes (src/decoding).
    decoding: files === undefined ? undefined : recipeVersions(),
  };
  return createHash('sha256').update(JSON.stringify(described)).digest('hex').slice(0, 32);
}
