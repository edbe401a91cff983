/**
 * Rotation requests: who asked for a rotation by hand. A rotation cannot tell itself whether Secrets
 * Manager's schedule started it or someone's RotateSecret did (the event is the same), so the operator CLI,
 * which chooses the rotation's ClientRequestToken itself, records `request#<token>` in the ledger table
 * before it calls RotateSecret. The compliance report joins these with the owners' runs by token: a run with
 * a request was manual (by whom it says), any other was started by the schedule or outside this CLI (the
 * console, `aws secretsmanager rotate-secret`: CloudTrail's RotateSecret events tell those apart).
 *
 * These items live beside the owners' records under their own keys, so the rotation function never reads
 * or conditions on them. They hold no secret: a version id, an ARN, a time and a name.
 */
import { type AttributeValue, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const REQUEST_PREFIX = 'request#';

export interface RotationRequest {
  /** The rotation's ClientRequestToken (its version id). */
  readonly token: string;
  readonly secretArn: string;
  /** ISO-8601. */
  readonly requestedAt: string;
  /** Who asked: the operator's login and host as the CLI sees them. */
  readonly requestedBy: string;
  /** What asked, e.g. `pingone-rotation rotate`. */
  readonly via: string;
}

export async function recordRotationRequest(
  client: DynamoDBClient,
  table: string,
  request: RotationRequest,
  options: { abortSignal?: AbortSignal } = {},
): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: `${REQUEST_PREFIX}${request.token}` },
        itemKind: { S: 'rotation-request' },
        token: { S: request.token },
        secretArn: { S: request.secretArn },
        requestedAt: { S: request.requestedAt },
        requestedBy: { S: request.requestedBy },
        via: { S: request.via },
      },
      // A token is used once: never overwrite another request's record.
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
}

/** The request an item records, or undefined when it is not one (an owner's record). */
export function parseRequestItem(item: Record<string, AttributeValue>): RotationRequest | undefined {
  const pk = item.pk?.S;
  if (!pk?.startsWith(REQUEST_PREFIX)) return undefined;
  const s = (key: string) => item[key]?.S;
  const token = s('token');
  const secretArn = s('secretArn');
  const requestedAt = s('requestedAt');
  if (!token || !secretArn || !requestedAt) return undefined;
  return {
    token,
    secretArn,
    requestedAt,
    requestedBy: s('requestedBy') ?? 'unknown',
    via: s('via') ?? 'unknown',
  };
}
