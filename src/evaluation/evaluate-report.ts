import type { EvaluationSummary } from '../store/index.js';
import type { Gate } from './evaluate-options.js';
import { metricName } from './metric-names.js';
import type { EvaluationReport } from './report.js';
import type { TaskMetrics } from './scorers.js';

/** The evaluation as GET /v1/evaluations/{id} answers it. */
export interface EvaluationAnswer extends Omit<EvaluationSummary, 'summary'> {
  summary: Record<string, number | null> | null;
  report: EvaluationReport | null;
}

export interface GateResult extends Gate {
  value: number | null;
  passed: boolean;
}

/** Each gate against the summary: a figure that could not be computed (null) misses its gate. */
export function checkGates(gates: readonly Gate[], summary: Record<string, number | null> | null): GateResult[] {
  return gates.map((g) => {
    const value = summary?.[g.metric] ?? null;
    const passed = value !== null && (g.kind === 'min' ? value >= g.bound : value <= g.bound);
    return { ...g, value, passed };
  });
}

const num = (v: unknown, digits = 4): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

/** A table: header, then rows, as aligned text or as Markdown. */
function table(header: string[], rows: string[][], markdown: boolean): string {
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
    return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Task-specific tables of a report. */
function metricTables(metrics: TaskMetrics, markdown: boolean): string[] {
  const out: string[] = [];
  const heading = (text: string) => (markdown ? `#### ${text}` : `${text}:`);
  switch (metrics.task) {
    case 'classify': {
      out.push(
        heading('per class'),
        table(
          ['label', 'support', 'precision', 'recall', 'F1'],
          metrics.perClass.map((c) => [c.label, String(c.support), num(c.precision), num(c.recall), num(c.f1)]),
          markdown,
        ),
      );
      const labels = metrics.confusion.labels;
      if (labels.length <= 30) {
        out.push(
          '',
          heading('confusion matrix (rows: true label, columns: predicted)'),
          table(
            ['', ...labels],
            metrics.confusion.matrix.map((row, i) => [labels[i], ...row.map(String)]),
            markdown,
          ),
        );
      }
      break;
    }
    case 'text-recognize':
    case 'ocr':
      out.push(
        `characters ${metrics.characters.edits} edits over ${metrics.characters.reference}, words ${metrics.words.edits} over ${metrics.words.reference}`,
      );
      if (metrics.task === 'ocr' && metrics.lines !== null) {
        const l = metrics.lines;
        const ignored = l.ignoredRegions > 0 ? `; ${l.ignoredRegions} ignored regions (${l.droppedPredictions} read over them)` : '';
        out.push(
          `lines ${l.labelled} labelled, ${l.predicted} read: ${l.matched} matched at IoU ≥ ${metrics.iouThreshold}, ${l.exact} of them exact, ` +
            `${l.missed} missed, ${l.extra} extra${ignored}`,
        );
      }
      if (metrics.worst.length > 0) {
        out.push(
          '',
          heading('lines with the most edits'),
          table(
            ['file', 'edits', 'expected', 'read'],
            metrics.worst.slice(0, 10).map((w) => [w.file, String(w.characterEdits), JSON.stringify(w.expected), JSON.stringify(w.predicted)]),
            markdown,
          ),
        );
      }
      break;
    case 'detect':
      out.push(
        heading('per class'),
        table(
          ['label', 'boxes', 'detections', 'AP@0.5', 'AP', 'precision', 'recall'],
          metrics.perClass
            .filter((c) => c.groundTruth > 0 || c.detections > 0)
            .map((c) => [c.label, String(c.groundTruth), String(c.detections), num(c.ap50), num(c.ap), num(c.precision), num(c.recall)]),
          markdown,
        ),
      );
      break;
    case 'segment':
      out.push(
        heading('per class'),
        table(
          ['label', 'truth px', 'predicted px', 'IoU'],
          metrics.perClass.map((c) => [c.label, String(c.truthPixels), String(c.predictedPixels), num(c.iou)]),
          markdown,
        ),
      );
      break;
  }
  return out;
}

/** The readable end of a run: headline figures, per-class tables, problems, timing and gates. */
export function renderEvaluation(e: EvaluationAnswer, gates: readonly GateResult[], options: { markdown: boolean }): string {
  const { markdown } = options;
  const r = e.report;
  const lines: string[] = [];
  const problems = `${e.problems} problem${e.problems === 1 ? '' : 's'}`;
  const title = `sightline evaluate: ${e.model} (version ${e.modelVersion ?? '?'}, ${e.task}) on ${e.dataset} (${e.layout}, ${e.total} images, ${problems})`;
  lines.push(markdown ? `### ${title}` : title, '');
  if (e.status !== 'succeeded' || r === null) {
    lines.push(`evaluation ${e.status}: ${e.error ?? 'no report'}`);
  } else {
    const summary = Object.entries(e.summary ?? {}).filter(([k]) => k !== 'evaluated');
    lines.push(
      table(
        ['figure', 'value'],
        summary.map(([k, v]) => [metricName(k), k === 'imagesPerSecond' ? num(v, 1) : num(v)]),
        markdown,
      ),
      '',
    );
    lines.push(...metricTables(r.metrics, markdown), '');
    const t = r.timing;
    lines.push(
      `${r.images.evaluated} of ${r.images.total} images evaluated in ${num(t.wallMs / 1000, 1)} s: ${num(t.imagesPerSecond, 1)} images/s, ` +
        `latency p50 ${num(t.latencyMs.p50, 1)} ms, p99 ${num(t.latencyMs.p99, 1)} ms`,
    );
    if (r.problems.count > 0) {
      lines.push('', markdown ? `#### problems (${r.problems.count})` : `problems (${r.problems.count}):`);
      for (const p of r.problems.listed.slice(0, 20)) lines.push(`${markdown ? '- ' : '  '}${p.file}: ${p.message}`);
      if (r.problems.count > 20) lines.push(`${markdown ? '- ' : '  '}… and ${r.problems.count - 20} more (see --json)`);
    }
  }
  if (gates.length > 0) {
    lines.push('', markdown ? '#### gates' : 'gates:');
    for (const g of gates) {
      lines.push(`${markdown ? '- ' : '  '}${g.flag} ${g.bound}: ${metricName(g.metric)} ${num(g.value)} ${g.passed ? 'passed' : 'MISSED'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
