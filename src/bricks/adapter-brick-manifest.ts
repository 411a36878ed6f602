/**
 * brick.json of a LoRA adapter brick: a directory that names a pretrained base and a PEFT adapter
 * instead of holding a model (the runtime merges them on load: src/runtime/bricks/adapter-brick.ts).
 *
 *   { "specificationVersion": "v1", "kind": "lora-adapter", "role": "decomposer",
 *     "base": "models/SmolLM2-135M-Instruct", "adapter": ".",
 *     "promptStyle"?: "instruct" | "compact", "decoding"?: { ... }, "lineage"?: { ... } }
 *
 * `lineage` (src/bricks/adapter-lineage.ts) is written by `dnc bricks merge` and `dnc bricks update`;
 * bricks written before it have none and load unchanged.
 */
import { z } from 'zod';
import { promptStyleSchema } from '../prompts/index.js';
import { brickDecodingSchema, brickRoleSchema } from './brick-manifest.js';
import { adapterLineageSchema } from './adapter-lineage.js';

export const adapterBrickManifestSchema = z.strictObject({
  specificationVersion: z.literal('v1', { error: "specificationVersion must be 'v1'" }),
  kind: z.literal('lora-adapter'),
  role: brickRoleSchema,
  /** The pretrained base model directory (relative to the brick directory, or absolute). */
  base: z.string().min(1),
  /** The PEFT adapter directory (relative to the brick directory, or absolute; "." for the brick itself). */
  adapter: z.string().min(1).default('.'),
  promptStyle: promptStyleSchema.optional(),
  decoding: brickDecodingSchema.optional(),
  /** Base hash, adapter hash, version, combination parents and replaced versions. */
  lineage: adapterLineageSchema.optional(),
});

export type AdapterBrickManifest = z.infer<typeof adapterBrickManifestSchema>;
