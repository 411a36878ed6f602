/**
 * `dnc bench collect`: collection throughput against the fake OpenAI server with a fixed
 * latency L per request and concurrency C. Ideal throughput is C / L requests per second;
 * `efficiency` = measured / ideal (target ≥ 0.9). The whole collect path is timed: prompt
 * rendering, HTTP through the openai client, zod validation, fsynced journal appends.
 * `cpuMsPerRequest` (client and fake server together, one process) says how far C can go
 * before the CPU, not the endpoint, sets the pace.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCollection } from '../src/collect/run-collection.js';
import { OpenAITeacher } from '../src/teacher/openai-teacher.js';
import { generateExamples } from '../src/worlds/index.js';
import { answerFromGold, startFakeOpenAIServer } from '../test/helpers/fake-openai-server.js';

export async function run(options: { quick: boolean }): Promise<Record<string, unknown>> {
  // L is shorter than any real LLM call (typically 0.5-5 s); C × (CPU per request) must stay well under L.
  const latencyMs = 200;
  const concurrency = 16;
  const exampleCount = options.quick ? 120 : 400;
  const examples = generateExamples({ world: 'hops', n: exampleCount, seed: 7, split: 'train' });
  const server = await startFakeOpenAIServer({ answer: answerFromGold(examples), latencyMs });
  const directory = await mkdtemp(join(tmpdir(), 'dnc-bench-collect-'));
  try {
    const teacher = new OpenAITeacher({
      model: 'gpt-4o-mini',
      baseURL: server.url,
      apiKey: 'bench',
      concurrency,
    });
    // Warm-up (JIT, lazy module loading, keep-alive connections), not timed.
    await Promise.all(
      examples.slice(0, concurrency * 2).map((example) => teacher.decompose(example, { maxSubquestions: 6 })),
    );
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const summary = await runCollection({
      examples,
      teacher,
      outDir: directory,
      concurrency,
      settings: { maxSubquestions: 6, maxAttempts: 3, filter: 'all', secondSample: false },
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const throughput = summary.requests / seconds;
    const ideal = concurrency / (latencyMs / 1000);
    return {
      benchmark: 'collect',
      concurrency,
      latencyMs,
      requests: summary.requests,
      examples: exampleCount,
      seconds: Number(seconds.toFixed(3)),
      throughput: Number(throughput.toFixed(1)),
      ideal,
      efficiency: Number((throughput / ideal).toFixed(3)),
      ok: summary.ok,
      cpuMsPerRequest: Number(((cpu.user + cpu.system) / 1000 / summary.requests).toFixed(2)),
      note: 'requests per second through dnc collect (journals fsynced); the fake server runs in the same process',
    };
  } finally {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  }
}
