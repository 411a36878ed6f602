/** The versions a run records in run.json: node, dnc itself and onnxruntime-node. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

async function packageVersion(packageJsonPath: string): Promise<string> {
  try {
    const parsed = JSON.parse(await readFile(packageJsonPath, 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function packageVersions(): Promise<Record<string, string>> {
  const dncPackage = new URL('../../package.json', import.meta.url);
  let onnxruntimePackage: string | undefined;
  try {
    onnxruntimePackage = require.resolve('onnxruntime-node/package.json');
  } catch {
    onnxruntimePackage = undefined;
  }
  return {
    node: process.version,
    dnc: await packageVersion(fileURLToPath(dncPackage)),
    'onnxruntime-node':
      onnxruntimePackage === undefined ? 'not installed' : await packageVersion(onnxruntimePackage),
  };
}
