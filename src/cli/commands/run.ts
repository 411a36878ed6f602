/**
 * `dnc run FILE [--from STAGE] [--force] [--json] [--runs DIR]`: runs a pipeline
 * (data → collect → filter → train → export → eval) into `runs/<name>/`, skipping stages whose
 * inputs and settings are unchanged and resuming a killed run where it stopped. Human mode logs
 * each stage on stderr and prints the paper-style table; `--json` prints
 * `{ run, seconds, stages, report }`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { formatDollars, renderPaperTable } from '../../eval/report-markdown.js';
import { stageNames, type StageName } from '../../pipeline/run-manifest.js';
import {
  runPipeline,
  type PipelineEvent,
  type PipelineResult,
  type StageResult,
} from '../../pipeline/run-pipeline.js';
import { log, printJson, printText } from '../output.js';
import { createProgress, formatDuration, type Progress } from '../progress.js';

interface RunFlags {
  from?: StageName;
  force?: boolean;
  json?: boolean;
  runs?: string;
}

function dollars(spent: number, saved: number): string {
  return spent === 0 && saved === 0 ? '' : `, spent $${formatDollars(spent)}, saved $${formatDollars(saved)}`;
}

function unitNote(summary: Record<string, unknown>): string {
  const resumedFrom = summary.resumedFromStep;
  return typeof resumedFrom === 'number' ? ` (resumed from step ${resumedFrom})` : '';
}

/** Stage lines and progress bars on stderr. */
function createReporter(): (event: PipelineEvent) => void {
  const bars = new Map<string, { progress: Progress; shown: number }>();
  return (event) => {
    switch (event.type) {
      case 'stage-start':
        log(
          `[${event.index + 1}/${event.count}] ${event.stage}${event.units.length > 1 ? `: ${event.units.join(', ')}` : ''}`,
        );
        break;
      case 'unit-start':
        if (event.unit !== event.stage || event.action === 'resumed')
          log(`  ${event.unit}: ${event.action === 'resumed' ? 'resuming' : 'running'}`);
        break;
      case 'unit-progress': {
        const key = `${event.stage}/${event.unit}`;
        let bar = bars.get(key);
        if (bar === undefined) {
          bar = { progress: createProgress({ label: `  ${key}`, total: event.progress.total }), shown: 0 };
          bars.set(key, bar);
        }
        bar.progress.tick(event.progress.done - bar.shown, event.progress.extra);
        bar.shown = event.progress.done;
        break;
      }
      case 'unit-log':
        log(`  ${event.unit}: ${event.message}`);
        break;
      case 'unit-done': {
        bars.get(`${event.stage}/${event.unit}`)?.progress.done();
        const { result } = event;
        log(
          `  ${event.unit}: ${result.action} in ${formatDuration(result.seconds)}${dollars(result.spentUsd, result.savedUsd)}${unitNote(result.summary)}`,
        );
        break;
      }
      case 'stage-done':
        if (event.result.action === 'skipped')
          log('  skipped: inputs and settings unchanged, outputs intact');
        else if (event.result.action === 'none') log('  nothing to do in this pipeline');
        break;
    }
  };
}

function jsonStages(stages: Record<StageName, StageResult>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(stages).map(([name, stage]) => [
      name,
      {
        action: stage.action,
        seconds: Math.round(stage.seconds * 100) / 100,
        spentUsd: stage.spentUsd,
        savedUsd: stage.savedUsd,
        outputs: stage.outputs,
        units: stage.units,
      },
    ]),
  );
}

function humanSummary(result: PipelineResult): string {
  const spent = Object.values(result.stages).reduce((sum, stage) => sum + stage.spentUsd, 0);
  const saved = Object.values(result.stages).reduce((sum, stage) => sum + stage.savedUsd, 0);
  const lines: string[] = [];
  if (result.report !== undefined) lines.push(renderPaperTable(result.report), '');
  lines.push(
    `run ${result.run} finished in ${formatDuration(result.seconds)}: spent $${formatDollars(spent)}, saved $${formatDollars(saved)} in this run`,
  );
  if (result.reportFiles !== undefined)
    lines.push(`report: ${result.reportFiles.html}`, `        ${result.reportFiles.markdown}`);
  lines.push(`lineage: ${result.run}/run.json`);
  return lines.join('\n');
}

async function run(file: string, flags: RunFlags): Promise<void> {
  const result = await runPipeline({
    file,
    from: flags.from,
    force: flags.force,
    runsDirectory: flags.runs,
    onEvent: flags.json === true ? undefined : createReporter(),
  });
  if (flags.json === true)
    printJson({
      run: result.run,
      seconds: Math.round(result.seconds * 100) / 100,
      stages: jsonStages(result.stages),
      report: result.report ?? null,
    });
  else printText(humanSummary(result));
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run a pipeline: data → collect → filter → train → export → eval, into runs/<name>/ (resumable)',
    )
    .argument('<pipeline>', 'pipeline file, e.g. pipelines/quickstart.json')
    .addOption(new Option('--from <stage>', 'rerun this stage and every later one').choices(stageNames))
    .option('--force', 'rerun every stage (journals and caches still serve what was already paid for)')
    .option('--json', 'print { run, seconds, stages, report } as one JSON object')
    .option('--runs <dir>', 'parent directory of run directories', 'runs')
    .action(run);
}
