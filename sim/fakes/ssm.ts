/** SSM Parameter Store in memory, at the SDK client's `send()`: GetParameter for the worker parameter. */
import { ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { awsCall, type Proc, type SimEnv, withSend } from '../env.js';

export class SsmState {
  readonly parameters = new Map<string, string>();
  /** Every GetParameter that reached the service: which parameter, which process. */
  onGet: ((name: string, by: string) => void) | undefined;

  constructor(private readonly env: SimEnv) {}

  client(proc: Proc): SSMClient {
    const send = async (command: { constructor: { name: string }; input: unknown }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      const input = command.input as { Name?: string };
      if (name !== 'GetParameter') throw new Error(`sim: SSM ${name} is not modelled`);
      return awsCall(this.env, proc, 'SSM GetParameter', () => {
        this.onGet?.(input.Name ?? '', proc.name);
        const value = this.parameters.get(input.Name ?? '');
        if (value === undefined) {
          throw new ParameterNotFound({ message: 'Parameter not found', $metadata: { httpStatusCode: 400 } });
        }
        return { Parameter: { Name: input.Name, Type: 'SecureString', Value: value, Version: 1 } };
      });
    };
    ssmclientBase ??= new SSMClient({ region: 'us-east-1' });
    return withSend(ssmclientBase, send);
  }
}

/** One real client per process of the simulator (building one is costly); each caller gets its own `send`. */
let ssmclientBase: SSMClient | undefined;
