'use strict';
// A local osls plugin that checks the deploy-time params before anything is packaged: osls ignores a
// `--param` it has no use for, so `--param="pingoneRegoin=EU"` packaged (and deployed) a stack for the default
// region without a word. Every `--param` name must be one serverless.yml's `params:` declares (the error names
// the nearest one), and every value must satisfy the constraints of the CloudFormation parameter it becomes
// (infra/parameters.yml: AllowedValues, AllowedPattern, MinLength, MinValue/MaxValue), which CloudFormation
// would otherwise only enforce at deploy time.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { checkWorkerSettings, DEFAULT_WORKER_PARAMETER } = require('./worker-settings.cjs');

/** Levenshtein distance, case-insensitive. */
function distance(a, b) {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[t.length];
}

/** The known name nearest to `name`. */
function nearest(name, known) {
  let best;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (!best || d < best.d) best = { candidate, d };
  }
  return best?.candidate;
}

/**
 * The constraints of each osls param, read from infra/parameters.yml: the CloudFormation parameter whose
 * Default is `${param:<name>}`, with its AllowedValues, AllowedPattern, MinLength, MinValue, MaxValue and
 * ConstraintDescription. A small line reader: the file's Parameters section is flat, one key per line.
 */
function parameterConstraints(text) {
  const byParam = {};
  let current;
  let inParameters = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inParameters = /^Parameters:\s*$/.test(line);
      current = undefined;
      continue;
    }
    if (!inParameters) continue;
    const head = /^ {2}([A-Za-z0-9]+):\s*$/.exec(line);
    if (head) {
      current = { stackParameter: head[1] };
      continue;
    }
    const field = /^ {4}([A-Za-z]+):\s*(.*?)\s*$/.exec(line);
    if (!current || !field) continue;
    const [, key, value] = field;
    if (key === 'Default') {
      const param = /^\$\{param:([A-Za-z0-9]+)\}$/.exec(value);
      if (param) byParam[param[1]] = current;
    } else if (key === 'Type') current.type = value;
    else if (key === 'AllowedValues') {
      current.allowedValues = value
        .replace(/^\[|\]$/g, '')
        .split(',')
        .map((v) => v.trim().replace(/^"(.*)"$/, '$1'));
    } else if (key === 'AllowedPattern') current.allowedPattern = value;
    else if (key === 'MinLength') current.minLength = Number(value);
    else if (key === 'MaxLength') current.maxLength = Number(value);
    else if (key === 'MinValue') current.minValue = Number(value);
    else if (key === 'MaxValue') current.maxValue = Number(value);
    else if (key === 'ConstraintDescription') current.constraint = value;
  }
  return byParam;
}

/** `--param` as osls receives it: a string or a list of `name=value`. */
function givenParams(option) {
  const list = option === undefined ? [] : Array.isArray(option) ? option : [option];
  return list.map((entry) => {
    const at = String(entry).indexOf('=');
    return at < 0
      ? { name: String(entry), value: undefined }
      : { name: entry.slice(0, at), value: entry.slice(at + 1) };
  });
}

/**
 * The problems with the params: `known` the declared names, `given` the `--param`s, `values` every param's
 * final value (declared defaults with the `--param`s over them), `constraints` from parameterConstraints.
 */
function checkParams({ known, given, values, constraints }) {
  const problems = [];
  for (const { name, value } of given) {
    if (!known.includes(name)) {
      const near = nearest(name, known);
      problems.push(
        `--param "${name}" is not a parameter of this stack${near ? `: did you mean "${near}"?` : ''} (the parameters are listed under params.default in serverless.yml and in docs/configuration.md)`,
      );
    } else if (value === undefined) {
      problems.push(`--param "${name}" has no value: write --param="${name}=<value>"`);
    }
  }
  for (const [name, value] of Object.entries(values)) {
    const c = constraints[name];
    if (!c || value === undefined || value === null) continue;
    const text = String(value);
    const where = `${name} = "${text}" (stack parameter ${c.stackParameter})`;
    if (c.allowedValues && !c.allowedValues.includes(text)) {
      const same = c.allowedValues.find((v) => v.toLowerCase() === text.toLowerCase());
      problems.push(
        `${where} is not one of ${c.allowedValues.join(', ')}${same ? `: did you mean "${same}"?` : ''}`,
      );
      continue;
    }
    if (c.allowedPattern && !new RegExp(c.allowedPattern).test(text)) {
      problems.push(`${where} is not valid: it must be ${c.constraint ?? `like ${c.allowedPattern}`}`);
      continue;
    }
    if (c.minLength !== undefined && text.length < c.minLength) {
      problems.push(`${where} is too short: at least ${c.minLength} characters`);
      continue;
    }
    if (c.maxLength !== undefined && text.length > c.maxLength) {
      problems.push(
        `${name} (stack parameter ${c.stackParameter}) is too long: ${text.length} characters, at most ${c.maxLength}`,
      );
      continue;
    }
    if (c.type === 'Number') {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) problems.push(`${where} is not a number`);
      else if ((c.minValue !== undefined && n < c.minValue) || (c.maxValue !== undefined && n > c.maxValue)) {
        problems.push(
          `${where} is out of range: ${c.constraint ?? `from ${c.minValue ?? '-∞'} to ${c.maxValue ?? '∞'}`}`,
        );
      }
    }
  }
  if ('workerParameterName' in values || 'workers' in values) problems.push(...checkWorkerSettings(values));
  return problems;
}

/**
 * The final values of the params as the template gets them: `workerParameterName`'s default is resolved at
 * package time (infra/worker-settings.cjs: /pingone/rotation-worker unless `workers` is set).
 */
function finalValues(values) {
  const out = { ...values };
  if (typeof out.workerParameterName === 'string' && out.workerParameterName.includes('${')) {
    out.workerParameterName = String(out.workers ?? '').trim() === '' ? DEFAULT_WORKER_PARAMETER : '';
  }
  return out;
}

class ParamCheck {
  constructor(serverless, options) {
    this.hooks = {
      'before:package:initialize': () => {
        const config = serverless.configurationInput ?? {};
        const params = config.params ?? {};
        const stage = options?.stage ?? config.provider?.stage ?? 'dev';
        const known = [
          ...new Set(
            Object.values(params).flatMap((set) => Object.keys(set && typeof set === 'object' ? set : {})),
          ),
        ];
        const given = givenParams(options?.param);
        const values = { ...(params.default ?? {}), ...(params[stage] ?? {}) };
        for (const { name, value } of given) if (value !== undefined) values[name] = value;
        const constraints = parameterConstraints(
          readFileSync(join(serverless.serviceDir ?? process.cwd(), 'infra/parameters.yml'), 'utf8'),
        );
        const problems = checkParams({ known, given, values: finalValues(values), constraints });
        if (problems.length > 0) {
          throw new serverless.classes.Error(
            `Deploy parameters refused before packaging:\n  - ${problems.join('\n  - ')}`,
            'INVALID_PARAM',
          );
        }
      },
    };
  }
}

module.exports = ParamCheck;
module.exports.checkParams = checkParams;
module.exports.finalValues = finalValues;
module.exports.parameterConstraints = parameterConstraints;
module.exports.nearest = nearest;
