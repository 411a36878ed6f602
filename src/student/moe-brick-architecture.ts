/**
 * The student architecture of an exported mixture-of-experts brick, read back from its
 * `config.json` (Hugging Face Mixtral, plus dnc's `dnc_moe_layers`, `dnc_router`,
 * `dnc_router_dimension` and `dnc_router_temperature`: src/student/config.ts writes them). What
 * needs the training graph of a brick (the eval's per-dataset expert routing) starts here. The
 * z-loss weight is not in a Mixtral config and reads as 0 (it does not change the forward).
 */
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { formatZodError } from '../data/zod-format.js';
import { type StudentArchitecture, studentArchitectureSchema } from './config.js';
import { architectureFromHuggingFaceConfig } from './hugging-face-config.js';
import { mixtureOfExpertsSchema, routerKinds } from './moe-config.js';

const mixtralFieldsSchema = z.looseObject({
  model_type: z.literal('mixtral'),
  num_local_experts: z.number().int().positive(),
  num_experts_per_tok: z.number().int().positive(),
  router_aux_loss_coef: z.number().nonnegative().default(0),
  dnc_moe_layers: z.array(z.number().int().nonnegative()).optional(),
  dnc_router: z.enum(routerKinds).optional(),
  dnc_router_dimension: z.number().int().positive().optional(),
  dnc_router_temperature: z.number().positive().optional(),
});

/** Whether a parsed config.json is a Mixtral (mixture-of-experts) model. */
export const isMixtralConfig = (json: unknown): boolean =>
  (json as { model_type?: unknown } | null)?.model_type === 'mixtral';

/** The architecture of a Mixtral-layout dnc brick; `source` names the file in errors. */
export function architectureFromMixtralConfig(json: unknown, source: string): StudentArchitecture {
  const parsed = mixtralFieldsSchema.safeParse(json);
  if (!parsed.success)
    throw new UserError(`${source}: not a Mixtral config dnc wrote: ${formatZodError(parsed.error)}`);
  const config = parsed.data;
  // The shared decoder fields read as Llama's (Mixtral's attention is Llama's, without biases).
  const {
    huggingFaceConfig: _huggingFaceConfig,
    modelType: _modelType,
    ...decoder
  } = architectureFromHuggingFaceConfig({ ...config, model_type: 'llama' }, source);
  const router = config.dnc_router ?? 'softmax';
  const moe = mixtureOfExpertsSchema.safeParse({
    experts: config.num_local_experts,
    topK: config.num_experts_per_tok,
    router,
    balanceLoss: config.router_aux_loss_coef,
    zLoss: 0,
    ...(config.dnc_moe_layers === undefined ? {} : { layers: config.dnc_moe_layers }),
    ...(router === 'cosine'
      ? { routerDimension: config.dnc_router_dimension, routerTemperature: config.dnc_router_temperature }
      : {}),
  });
  if (!moe.success) throw new UserError(`${source}: ${formatZodError(moe.error)}`);
  const architecture = studentArchitectureSchema.safeParse({ ...decoder, moe: moe.data });
  if (!architecture.success) throw new UserError(`${source}: ${formatZodError(architecture.error)}`);
  return architecture.data;
}
