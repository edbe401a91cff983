/**
 * Just enough of CloudFormation's intrinsic functions to evaluate the generated template for a given set of
 * stack parameters, so tests can assert on the concrete ARNs and conditions a deployment would get.
 * Resource references stay symbolic: `Ref X` → `<ref:X>`, `GetAtt X.Arn` → `<X.Arn>`.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Template {
  Parameters?: Record<string, Parameter>;
  Conditions?: Record<string, Json>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, JsonObject>;
}

export interface Parameter {
  Type: string;
  Default?: string;
  AllowedPattern?: string;
  AllowedValues?: string[];
  MinLength?: number;
  MaxLength?: number;
  /** Number parameters. */
  MinValue?: number;
  MaxValue?: number;
}

export interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  Properties?: JsonObject;
}

export interface Deployment {
  region: string;
  accountId: string;
  stackName: string;
  /** Overrides of the template's parameter defaults. */
  parameters?: Record<string, string>;
}

const NO_VALUE = Symbol('AWS::NoValue');
type Value = Json | typeof NO_VALUE;

export class TemplateEvaluator {
  private readonly parameters: Record<string, string>;

  constructor(
    private readonly template: Template,
    private readonly deployment: Deployment,
  ) {
    const defaults = Object.fromEntries(
      Object.entries(template.Parameters ?? {}).map(([name, p]) => [name, p.Default ?? '']),
    );
    this.parameters = { ...defaults, ...deployment.parameters };
    for (const [name, value] of Object.entries(this.parameters)) {
      assertAllowed(name, template.Parameters?.[name], value);
    }
  }

  /** Whether a named condition of the template holds for this deployment. */
  condition(name: string): boolean {
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new Error(`unknown condition ${name}`);
    const result = this.evaluate(definition);
    if (typeof result !== 'boolean') throw new Error(`condition ${name} is not boolean`);
    return result;
  }

  /** Resources that exist for this deployment, their properties evaluated. */
  resources(): Record<string, Resource & { Properties: JsonObject }> {
    const out: Record<string, Resource & { Properties: JsonObject }> = {};
    for (const [id, resource] of Object.entries(this.template.Resources)) {
      if (resource.Condition !== undefined && !this.condition(resource.Condition)) continue;
      const properties = this.evaluate(resource.Properties ?? {});
      out[id] = { ...resource, Properties: asObject(properties, id) };
    }
    return out;
  }

  evaluate(node: Json): Json {
    const value = this.eval(node);
    if (value === NO_VALUE) throw new Error('AWS::NoValue at the top level');
    return value;
  }

  private eval(node: Json): Value {
    if (Array.isArray(node)) return node.map((n) => this.eval(n)).filter((v): v is Json => v !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const keys = Object.keys(node);
    const [fn] = keys;
    if (
      keys.length === 1 &&
      fn !== undefined &&
      (fn === 'Ref' || fn === 'Condition' || fn.startsWith('Fn::'))
    ) {
      return this.intrinsic(fn, node[fn] as Json);
    }
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(node)) {
      const value = this.eval(child);
      if (value !== NO_VALUE) out[key] = value;
    }
    return out;
  }

  private intrinsic(fn: string, arg: Json): Value {
    switch (fn) {
      case 'Ref':
        return this.ref(asString(arg, 'Ref'));
      case 'Condition':
        return this.condition(asString(arg, 'Condition'));
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg : asString(arg, 'GetAtt').split('.');
        return `<${String(id)}.${String(attribute)}>`;
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
        const evaluatedVars = asObject(this.eval(vars ?? {}), 'Fn::Sub variables');
        return asString(text ?? '', 'Fn::Sub').replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          const value = name in evaluatedVars ? evaluatedVars[name] : this.ref(name);
          return asString(value ?? '', `\${${name}}`);
        });
      }
      case 'Fn::Join': {
        const [delimiter, list] = asArray(arg, 'Fn::Join');
        return asArray(this.eval(list ?? []), 'Fn::Join list')
          .map((v) => asString(v, 'Fn::Join item'))
          .join(asString(delimiter ?? '', 'Fn::Join delimiter'));
      }
      case 'Fn::Split': {
        const [delimiter, text] = asArray(arg, 'Fn::Split');
        return asString(this.eval(text ?? ''), 'Fn::Split source').split(
          asString(delimiter ?? '', 'delimiter'),
        );
      }
      case 'Fn::Select': {
        const [index, list] = asArray(arg, 'Fn::Select');
        const item = asArray(this.eval(list ?? []), 'Fn::Select list')[Number(this.eval(index ?? 0))];
        if (item === undefined) throw new Error('Fn::Select index out of range');
        return item;
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = asArray(arg, 'Fn::If');
        return this.condition(asString(name ?? '', 'Fn::If'))
          ? this.eval(whenTrue ?? null)
          : this.eval(whenFalse ?? null);
      }
      case 'Fn::Equals': {
        const [a, b] = asArray(arg, 'Fn::Equals').map((v) => this.eval(v));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not':
        return !this.eval(asArray(arg, 'Fn::Not')[0] ?? null);
      case 'Fn::And':
        return asArray(arg, 'Fn::And').every((v) => this.eval(v) === true);
      case 'Fn::Or':
        return asArray(arg, 'Fn::Or').some((v) => this.eval(v) === true);
      default:
        throw new Error(`intrinsic ${fn} is not supported by the test evaluator`);
    }
  }

  private ref(name: string): Value {
    switch (name) {
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return this.deployment.region;
      case 'AWS::AccountId':
        return this.deployment.accountId;
      case 'AWS::StackName':
        return this.deployment.stackName;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
    }
    const parameter = this.parameters[name];
    if (parameter !== undefined) return parameter;
    if (name in this.template.Resources) return `<ref:${name}>`;
    throw new Error(`Ref to unknown name ${name}`);
  }
}

/** Whether CloudFormation would accept `value` for this parameter (AllowedPattern, AllowedValues, Min/MaxLength). */
export function satisfiesConstraints(parameter: Parameter, value: string): boolean {
  const { AllowedPattern, AllowedValues, MinLength, MaxLength, MinValue, MaxValue } = parameter;
  if (MaxLength !== undefined && value.length > MaxLength) return false;
  if (AllowedPattern !== undefined && !new RegExp(`^(?:${AllowedPattern})$`).test(value)) return false;
  if (AllowedValues !== undefined && !AllowedValues.includes(value)) return false;
  if (parameter.Type === 'Number') {
    const number = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(number)) return false;
    if (MinValue !== undefined && number < MinValue) return false;
    if (MaxValue !== undefined && number > MaxValue) return false;
  }
  return MinLength === undefined || value.length >= MinLength;
}

/** CloudFormation rejects a stack whose parameter values break their constraints; so does the evaluator. */
function assertAllowed(name: string, parameter: Parameter | undefined, value: string): void {
  if (parameter === undefined) throw new Error(`unknown parameter ${name}`);
  if (!satisfiesConstraints(parameter, value)) {
    throw new Error(
      `parameter ${name}=${JSON.stringify(value)} breaks its constraints ${JSON.stringify(parameter)}`,
    );
  }
}

export function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

export function asArray(value: unknown, what: string): Json[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected an array, got ${JSON.stringify(value)}`);
  return value as Json[];
}

export function asObject(value: unknown, what: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  }
  return value as JsonObject;
}

/** IAM fields that may be a string or a list, as a list. */
export function toList(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
