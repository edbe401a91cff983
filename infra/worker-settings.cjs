'use strict';
// The stack's two ways to name its PingOne workers (issue 19), checked where the operator types them:
// - `workers` (stack parameter PingOneWorkers): the PINGONE_WORKERS JSON document, a worker per organization;
// - `workerParameterName` (WorkerParameterName): the single worker's SSM parameter, the simple case.
// Exactly one of them. `workerParameterName` defaults to /pingone/rotation-worker only while `workers` is
// empty, so `--param="workers=[...]"` alone switches a stack to the list (a --param value cannot be empty).
//
// The roles cannot read the JSON at deploy time (CloudFormation has no JSON parsing), so they are scoped by
// location instead: a worker's SSM parameter must be under `workerParameterPath`, a worker's Secrets Manager
// secret under `secretNamePrefix` (it is a rotated secret). This file refuses, at package time, a worker
// outside them: its role could not read it, and the rotation would fail at run time.

const DEFAULT_WORKER_PARAMETER = '/pingone/rotation-worker';

/** `workerParameterName`'s default: today's single-worker parameter, or empty when `workers` names the workers. */
async function defaultWorkerParameterName({ resolveVariable }) {
  const workers = await resolveVariable('param:workers');
  return typeof workers === 'string' && workers.trim() !== '' ? '' : DEFAULT_WORKER_PARAMETER;
}

/** The SSM parameter name as an absolute path (`a/b` and `/a/b` are one parameter ARN). */
const absolute = (name) => `/${name}`.replace(/\/{2,}/g, '/');

/** The secret name in a secret id: a name, or a secret ARN (`arn:...:secret:<name>-<6 chars>`). */
function secretName(id) {
  const arn = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)$/.exec(id);
  return arn ? arn[1] : id;
}

/**
 * The problems with the worker settings, in the osls params' names: `values` holds every param's final value.
 * Returns [] when they are consistent. The JSON's own shape (fields, regions, environments) is checked by the
 * function's parser (lib/pingone/workers.ts) at cold start and by `pingone-rotation doctor --workers`.
 */
function checkWorkerSettings(values) {
  const text = String(values.workers ?? '').trim();
  const parameter = String(values.workerParameterName ?? '').trim();
  if (text === '' && parameter === '') {
    return [
      'no worker is named: set workerParameterName (the single worker, e.g. /pingone/rotation-worker) or workers (a worker per PingOne organization)',
    ];
  }
  if (text === '') return [];
  if (parameter !== '') {
    return [
      `workers and workerParameterName = "${parameter}" are both set: name the workers in one place, workers (the single worker is a list of one) or workerParameterName`,
    ];
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    return ['workers is not valid JSON: it must be the PINGONE_WORKERS array (docs/configuration.md)'];
  }
  if (!Array.isArray(doc) || doc.length === 0) {
    return [
      'workers is not a non-empty JSON array: it must be the PINGONE_WORKERS array (docs/configuration.md)',
    ];
  }
  const path = String(values.workerParameterPath ?? '');
  const prefix = String(values.secretNamePrefix ?? '');
  const problems = [];
  doc.forEach((worker, index) => {
    const name = worker && typeof worker.name === 'string' ? `'${worker.name}'` : String(index + 1);
    if (
      worker &&
      typeof worker.parameter === 'string' &&
      !absolute(worker.parameter.trim()).startsWith(path)
    ) {
      problems.push(
        `workers: worker ${name}'s parameter ${worker.parameter} is not under workerParameterPath = "${path}", the only SSM parameters the stack's roles may read: move it there or change workerParameterPath`,
      );
    }
    if (worker && typeof worker.secret === 'string' && !secretName(worker.secret.trim()).startsWith(prefix)) {
      problems.push(
        `workers: worker ${name}'s secret ${worker.secret} is not under secretNamePrefix = "${prefix}", the only secrets the stack's roles may read (a worker secret is a rotated secret: pingone-rotation onboard-worker-pair)`,
      );
    }
  });
  return problems;
}

module.exports = defaultWorkerParameterName;
module.exports.checkWorkerSettings = checkWorkerSettings;
module.exports.DEFAULT_WORKER_PARAMETER = DEFAULT_WORKER_PARAMETER;
