/**
 * The export unit of a student with `backend: "openai"`: its model lives on the service, so the
 * brick is its brick.json (naming `openai:ft:...` with the lineage), copied from the train unit's
 * directory to `export/NAME/`, where eval chains find `student:NAME`.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { brickManifestFileName } from '../../bricks/brick-manifest.js';
import { remoteBrickSpec } from '../../train/remote/remote-brick-manifest.js';
import type { ResolvedStudent } from '../load-pipeline.js';
import type { UnitPlan } from '../stage.js';

export function remoteExportUnit(
  student: ResolvedStudent,
  trainDirectory: string,
  outDirectory: string,
): UnitPlan {
  const source = join(trainDirectory, brickManifestFileName);
  const target = join(outDirectory, brickManifestFileName);
  return {
    id: student.name,
    settings: { role: student.role, backend: 'openai' },
    inputs: { manifest: source },
    async run() {
      await mkdir(outDirectory, { recursive: true });
      await copyFile(source, target);
      const model = await remoteBrickSpec(outDirectory);
      return {
        outputs: { [brickManifestFileName]: target },
        spentUsd: 0,
        savedUsd: 0,
        summary: { brick: outDirectory, role: student.role, model },
      };
    },
  };
}
