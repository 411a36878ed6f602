/**
 * What the tests that compare logits share: the relative difference they bound, and the check that
 * Debian's python3-torch (the independent oracle, run by /usr/bin/python3) is there.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/** Debian's python, which `apt-get install python3-torch` equips (not a pyenv python on PATH). */
export const debianPython = '/usr/bin/python3';

/** Largest |a − b| relative to the largest |b| (logits of wide random weights reach tens). */
export function relativeDifference(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 1;
  for (let index = 0; index < actual.length; index += 1) {
    worst = Math.max(worst, Math.abs(actual[index] - expected[index]));
    scale = Math.max(scale, Math.abs(expected[index]));
  }
  return worst / scale;
}

/** Why the torch oracle cannot run here, or undefined when it can. */
export function torchMissingReason(): string | undefined {
  const probe = spawnSync(debianPython, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `${debianPython} cannot run (${probe.error.message})`;
  if (probe.status !== 0) return `${debianPython} cannot import torch (apt-get install python3-torch)`;
  return undefined;
}
