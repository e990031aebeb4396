import { readdir, readFile, stat } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandOptions } from '../command-arguments.js';
import { ProgressLine, type ProgressStream } from '../loadgen/progress-line.js';
import { writeTar } from './archive-tar.js';
import { DATASET_NAME } from './dataset-files.js';
import { EVALUATE_USAGE, type EvaluateOptions, parseEvaluateArgs } from './evaluate-options.js';
import { checkGates, type EvaluationAnswer, renderEvaluation } from './evaluate-report.js';

/** A server started for one run, when no --url is given. */
export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

export interface EvaluateIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  env?: NodeJS.ProcessEnv;
  /** Starts a server in this process serving `model`, reading datasets from `datasetsDir`. */
  startLocal?: (options: { model: string; datasetsDir: string }) => Promise<LocalServer>;
  /** How often progress is asked for (ms). */
  pollMs?: number;
}

/** Exit statuses: every gate held, a gate missed (or the evaluation failed), the run could not start. */
export const EVALUATE_EXIT = { passed: 0, missed: 1, usage: 2 } as const;

class SetupError extends Error {}

/** Every file of a local dataset folder (hidden ones left out), for the tar upload. */
async function folderEntries(root: string): Promise<Array<{ path: string; bytes: Buffer }>> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === '__MACOSX') continue;
      const full = path.join(dir, entry.name);
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const s = entry.isSymbolicLink() ? await stat(full) : entry;
      if (s.isDirectory()) await walk(full, rel);
      else if (s.isFile()) out.push({ path: rel, bytes: await readFile(full) });
    }
  };
  await walk(root, '');
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

interface Client {
  base: string;
  headers: Record<string, string>;
}

/** An answer: its status and its body, parsed when it is JSON. */
interface Answer {
  status: number;
  body: unknown;
}

async function request(client: Client, method: string, route: string, init: { body?: Buffer | string; type?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...client.headers, ...(init.type ? { 'content-type': init.type } : {}) };
  let res: Response;
  try {
    res = await fetch(`${client.base}${route}`, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  } catch (err) {
    throw new SetupError(`no answer from ${client.base} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text for the message
  }
  return { status: res.status, body };
}

function errorText(r: Answer): string {
  const message = (r.body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return `${r.status} ${typeof message === 'string' ? message : (typeof r.body === 'string' ? r.body : JSON.stringify(r.body)).slice(0, 300)}`;
}

function bar(done: number, total: number): string {
  const width = 24;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the evaluation: a folder the server can read by name, or the local folder uploaded as a tar. */
async function start(client: Client, options: EvaluateOptions, local: { datasetName: string | undefined }): Promise<string> {
  const query = new URLSearchParams();
  const json: Record<string, unknown> = {};
  if (options.layout !== undefined) json.layout = options.layout;
  if (options.topK !== undefined) json.topK = options.topK;
  if (options.positiveLabel !== undefined) json.positiveLabel = options.positiveLabel;
  const route = `/v1/models/${encodeURIComponent(options.model)}/evaluate`;
  const byName = options.serverDataset ?? local.datasetName;
  let answer;
  if (byName !== undefined) {
    answer = await request(client, 'POST', route, { type: 'application/json', body: JSON.stringify({ dataset: byName, ...json }) });
  } else {
    const dir = path.resolve(options.dataset!);
    const entries = await folderEntries(dir).catch((err: NodeJS.ErrnoException) => {
      throw new SetupError(`--dataset: cannot read ${dir}: ${err.code ?? err.message}`);
    });
    if (entries.length === 0) throw new SetupError(`--dataset: ${dir} holds no files`);
    const name = path.basename(dir);
    if (DATASET_NAME.test(name)) query.set('name', name);
    if (options.layout !== undefined) query.set('layout', options.layout);
    if (options.topK !== undefined) query.set('topK', options.topK.join(','));
    if (options.positiveLabel !== undefined) query.set('positiveLabel', options.positiveLabel);
    const q = query.toString();
    answer = await request(client, 'POST', `${route}${q === '' ? '' : `?${q}`}`, { type: 'application/x-tar', body: writeTar(entries) });
  }
  if (answer.status !== 202) throw new SetupError(`POST ${route} answered ${errorText(answer)}`);
  return (answer.body as { id: string }).id;
}

/** `sightline evaluate`: returns the exit status (see EVALUATE_EXIT). */
export async function runEvaluateCommand(argv: readonly string[], io: EvaluateIo): Promise<number> {
  const commandStart = { command: 'evaluate', usage: EVALUATE_USAGE, exit: EVALUATE_EXIT, stdout: io.stdout, stderr: io.stderr };
  const parsed = commandOptions(argv, commandStart, () => parseEvaluateArgs(argv, io.env ?? process.env));
  if ('exit' in parsed) return parsed.exit;
  const { options } = parsed;
  const progress = new ProgressLine(io.stderr);
  let local: LocalServer | undefined;
  try {
    let base: string;
    let datasetName: string | undefined;
    if (options.url !== undefined) {
      base = options.url.href.replace(/\/+$/, '');
    } else {
      if (io.startLocal === undefined) throw new SetupError('no --url, and this build cannot start a server in-process');
      const dir = path.resolve(options.dataset!);
      const isDir = await stat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDir) throw new SetupError(`--dataset: ${dir} is not a folder`);
      // A folder whose name the server takes is read in place; any other is uploaded.
      if (DATASET_NAME.test(path.basename(dir))) datasetName = path.basename(dir);
      progress.update(`starting ${options.model} in-process…`);
      local = await io.startLocal({ model: options.model, datasetsDir: path.dirname(dir) });
      base = local.url;
    }
    const client: Client = { base, headers: options.apiKey ? { 'x-api-key': options.apiKey } : {} };
    const id = await start(client, options, { datasetName });
    const deadline = Date.now() + options.timeoutSec * 1000;
    let evaluation: EvaluationAnswer;
    for (;;) {
      const answer = await request(client, 'GET', `/v1/evaluations/${id}`);
      if (answer.status !== 200) throw new SetupError(`GET /v1/evaluations/${id} answered ${errorText(answer)}`);
      evaluation = answer.body as EvaluationAnswer;
      if (evaluation.status === 'succeeded' || evaluation.status === 'failed') break;
      const pct = evaluation.total === 0 ? 100 : Math.floor((evaluation.done / evaluation.total) * 100);
      const problems = evaluation.problems > 0 ? `, ${evaluation.problems} problems` : '';
      progress.update(
        `${options.model} on ${evaluation.dataset} ${bar(evaluation.done, evaluation.total)} ${evaluation.done}/${evaluation.total} images ${pct}%${problems}`,
      );
      if (Date.now() > deadline) {
        progress.clear();
        io.stderr.write(
          `sightline evaluate: not finished after --timeout (${evaluation.done}/${evaluation.total} images); it keeps running on the server as ${id}\n`,
        );
        return EVALUATE_EXIT.missed;
      }
      await sleep(io.pollMs ?? 500);
    }
    progress.done(
      `${options.model} on ${evaluation.dataset} ${bar(evaluation.done, evaluation.total)} ${evaluation.done}/${evaluation.total} images, ${evaluation.status}`,
    );
    const gates = evaluation.status === 'succeeded' ? checkGates(options.gates, evaluation.summary) : [];
    const wrongTask = options.gates.find((g) => !(g.tasks as readonly string[]).includes(evaluation.task));
    if (wrongTask !== undefined)
      throw new SetupError(`${wrongTask.flag} gates a ${wrongTask.tasks.join(' or ')} figure, but ${options.model} is a ${evaluation.task} model`);
    io.stdout.write(renderEvaluation(evaluation, gates, { markdown: false }));
    try {
      if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify({ ...evaluation, gates }, null, 2)}\n`);
      if (options.markdown !== undefined) writeFileSync(options.markdown, renderEvaluation(evaluation, gates, { markdown: true }));
    } catch (err) {
      throw new SetupError(`cannot write the report: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (evaluation.status !== 'succeeded') return EVALUATE_EXIT.missed;
    return gates.every((g) => g.passed) ? EVALUATE_EXIT.passed : EVALUATE_EXIT.missed;
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    progress.clear();
    io.stderr.write(`sightline evaluate: ${err.message}\n`);
    return EVALUATE_EXIT.usage;
  } finally {
    progress.clear();
    await local?.close();
  }
}
